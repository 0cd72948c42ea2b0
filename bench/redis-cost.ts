/**
 * What one task costs Redis: commands run (including those inside scripts), script calls and Redis
 * CPU time, for Taskplane (submit, run, record, events) against bare BullMQ (add, run), per task.
 * Feeds the table in bench/README.md.
 *
 *   node --import tsx bench/redis-cost.ts [tasks=2000]
 */
import { createRedis } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { addBareJobs, benchRedis, drainBare, fmt, noopEngine, report } from './lib';

const tasks = Number(process.argv[2] ?? 2000);
const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });

interface Snapshot {
  calls: number;
  scriptCalls: number;
  cpuMs: number;
}

async function snapshot(redis: Redis): Promise<Snapshot> {
  const [stats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  let calls = 0;
  let scriptCalls = 0;
  for (const match of stats.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    const n = Number(match[2]);
    calls += n;
    if (['evalsha', 'eval', 'fcall'].includes(match[1]!)) scriptCalls += n;
  }
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  // Redis 7 counts the commands a script runs under their own names as well, so `calls` holds
  // both what clients sent and what ran inside scripts.
  return { calls, scriptCalls, cpuMs: (user + sys) * 1000 };
}

async function measure(run: () => Promise<void>): Promise<{ calls: number; scripts: number; cpuMs: number }> {
  await admin.config('RESETSTAT');
  const before = await snapshot(admin);
  await run();
  const after = await snapshot(admin);
  return {
    calls: after.calls - before.calls,
    scripts: after.scriptCalls - before.scriptCalls,
    cpuMs: after.cpuMs - before.cpuMs,
  };
}

async function raw(): Promise<void> {
  await addBareJobs(server.url, 'raw', tasks);
  await drainBare(server.url, 'raw', tasks, 20);
}

async function ours(): Promise<void> {
  const tp = noopEngine(server.url, 20);
  try {
    await tp.submit(tasks);
    await tp.drain(tasks);
  } finally {
    await tp.close();
  }
}

try {
  const r = await measure(raw);
  const o = await measure(ours);
  report(`Redis cost per task (${fmt(tasks, 0)} tasks, submit + run + record)`, [
    {
      metric: 'commands run (incl. in scripts)',
      ours: o.calls / tasks,
      raw: r.calls / tasks,
      unit: '',
    },
    {
      metric: 'script calls',
      ours: o.scripts / tasks,
      raw: r.scripts / tasks,
      unit: '',
    },
    {
      metric: 'Redis CPU',
      ours: (o.cpuMs * 1000) / tasks,
      raw: (r.cpuMs * 1000) / tasks,
      unit: 'µs',
    },
  ]);
} finally {
  admin.disconnect();
  await server.stop();
}
