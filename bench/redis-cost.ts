/**
 * What one task costs Redis: round trips (commands sent by clients), commands run (including those
 * inside scripts) and Redis CPU time, for Taskplane (submit, run, record, events) against bare
 * BullMQ (add, run), per task. Feeds the table in packages/queue/README.md.
 *
 *   node --import tsx bench/redis-cost.ts [tasks=2000]
 */
import { createLogger, createRedis, Keys, loadConfig, TaskTypeRegistry } from '@taskplane/core';
import { TaskEngine, WorkerHost } from '@taskplane/queue';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { benchRedis, fmt, report } from './lib';

const tasks = Number(process.argv[2] ?? 2000);
const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });

interface Snapshot {
  calls: number;
  scriptCalls: number;
  cpuMs: number;
  clientCommands: number;
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
  // Commands sent by clients = all calls minus those run inside scripts; Redis 7 counts the
  // inner ones under their own names, so subtract them via the "script" call counts below.
  return { calls, scriptCalls, cpuMs: (user + sys) * 1000, clientCommands: 0 };
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
  const connection = createRedis({ url: server.url, role: 'worker' });
  const queue = new Queue('raw', { connection, prefix: 'raw' });
  for (let i = 0; i < tasks; i += 500) {
    await queue.addBulk(
      Array.from({ length: Math.min(500, tasks - i) }, (_, n) => ({ name: 'noop', data: { n } })),
    );
  }
  let done = 0;
  await new Promise<void>((resolve) => {
    const worker = new Worker('raw', async () => ({ ok: true }), {
      connection: createRedis({ url: server.url, role: 'worker' }),
      prefix: 'raw',
      concurrency: 20,
    });
    worker.on('completed', () => {
      if (++done === tasks) void worker.close().then(resolve);
    });
  });
  await queue.close();
  connection.disconnect();
}

async function ours(): Promise<void> {
  const config = loadConfig({
    overrides: {
      redis: { prefix: 'tp' },
      queues: {
        bench: { concurrency: 20, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
      },
    },
  });
  const registry = new TaskTypeRegistry([
    { name: 'noop', description: '', queue: 'bench', params: z.object({ n: z.number() }) },
  ]);
  const redis = createRedis({ url: server.url, role: 'worker' });
  const logger = createLogger('bench', 'warn');
  const engine = new TaskEngine({ config, registry, keys: new Keys('tp'), redis, logger });
  for (let i = 0; i < tasks; i += 500) {
    await engine.submitMany(
      Array.from({ length: Math.min(500, tasks - i) }, (_, n) => ({ type: 'noop', params: { n } })),
    );
  }
  const host = new WorkerHost({
    engine,
    handlers: { noop: async () => ({ ok: true }) },
    queues: ['bench'],
    redisUrl: server.url,
    logger,
    catalogueBaseUrl: '',
  });
  await host.start();
  while ((await redis.zcard('tp:idx:status:success')) < tasks) await new Promise((r) => setTimeout(r, 20));
  await host.stop();
  await engine.close();
  redis.disconnect();
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
      lowerIsBetter: true,
    },
    {
      metric: 'script calls',
      ours: o.scripts / tasks,
      raw: r.scripts / tasks,
      unit: '',
      lowerIsBetter: true,
    },
    {
      metric: 'Redis CPU',
      ours: (o.cpuMs * 1000) / tasks,
      raw: (r.cpuMs * 1000) / tasks,
      unit: 'µs',
      lowerIsBetter: true,
    },
  ]);
} finally {
  admin.disconnect();
  await server.stop();
}
