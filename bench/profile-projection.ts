/**
 * What the projection alone costs Redis per task: no-op jobs are added and run by bare BullMQ (with
 * the engine's job data and options, finished jobs kept so the projection can read them), then
 * the projection applies the whole event stream (four BullMQ entries per task: added, waiting,
 * active, completed) in calls of 200 entries.
 *
 * - By default `INFO cpu` and `INFO commandstats` watch: noisy, run it several times.
 * - With `--callgrind`, Redis runs under valgrind's callgrind and the instructions it executes in
 *   the projection's calls are counted: exact to about 0.2 % between runs, whatever else the
 *   machine does. The figure to compare before and after a change to `project.lua` (8 s a run).
 *
 *   node --import tsx bench/profile-projection.ts [--tasks 5000] [--runs 3]
 *   node --import tsx bench/profile-projection.ts --callgrind [--tasks 1000]
 */
import { createRedis } from '@taskplane/core';
import type { JobData } from '@taskplane/queue';
import { newTaskId } from '@taskplane/queue';
import { callgrindRedis, hasValgrind } from './callgrind';
import { arg, benchRedis, drainBare, fmt, noopEngine, redisCpuMs } from './lib';

const callgrind = process.argv.includes('--callgrind');
const tasks = arg('tasks', callgrind ? 1000 : 5000);
const runs = arg('runs', callgrind ? 1 : 3);

const DATA: JobData = {
  params: {},
  labels: {},
  priority: 5,
  order: 'fifo',
  maxAttempts: 3,
  timeoutMs: 300_000,
  backoff: { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.2 },
};

/** An engine whose queue holds `tasks` finished no-op jobs that no projection has applied yet. */
async function finishedJobs(url: string, prefix: string) {
  const tp = noopEngine(url, 50, prefix);
  // The first call loads the function library: not the projection's cost.
  await tp.engine.project('bench');
  const queue = tp.engine.queue('bench');
  for (let i = 0; i < tasks; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, tasks - i) }, (_, n) => ({
        name: 'noop',
        data: { ...DATA, params: { n: i + n } },
        opts: { ...tp.engine.jobOptions(newTaskId(), DATA, 0, 0), removeOnComplete: false },
      })),
    );
  }
  await drainBare('bench', tasks, { connection: tp.redis, prefix: tp.keys.bullPrefix, concurrency: 50 });
  return tp;
}

/** Apply every entry; how many there were. */
async function projectAll(tp: ReturnType<typeof noopEngine>): Promise<number> {
  let applied = 0;
  for (;;) {
    const result = await tp.engine.project('bench');
    applied += result.applied;
    if (result.applied === 0) return applied;
  }
}

async function countInstructions(): Promise<void> {
  if (!hasValgrind()) {
    console.log('profile-projection --callgrind: valgrind is not installed (apt-get install valgrind)');
    return;
  }
  const redis = await callgrindRedis();
  try {
    for (let run = 0; run < runs; run++) {
      const tp = await finishedJobs(redis.url, `ppc${run}`);
      let applied = 0;
      const costs = await redis.measure(async () => {
        applied = await projectAll(tp);
      });
      await tp.close();
      const k = (name: string) => `${fmt((costs.get(name) ?? 0) / tasks / 1000, 1)}k`;
      console.log(
        `run ${run + 1}: ${applied} entries (${fmt(applied / tasks)} per task); Redis instructions per task: ${k('fcallCommand')} in the projection's calls, ${k('total')} in all`,
      );
    }
  } finally {
    await redis.stop();
  }
}

async function commandStats(admin: ReturnType<typeof createRedis>) {
  const text = await admin.info('commandstats');
  return new Map(
    [...text.matchAll(/^cmdstat_([\w|-]+):calls=(\d+),usec=(\d+)/gm)].map((m) => [
      m[1]!,
      { calls: Number(m[2]), usec: Number(m[3]) },
    ]),
  );
}

async function timeCpu(): Promise<void> {
  const server = await benchRedis();
  const admin = createRedis({ url: server.url, role: 'worker' });
  const samples: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const tp = await finishedJobs(server.url, `pp${run}`);
      await admin.config('RESETSTAT');
      const before = await redisCpuMs(admin);
      const applied = await projectAll(tp);
      const usPerTask = (((await redisCpuMs(admin)) - before) * 1000) / tasks;
      samples.push(usPerTask);
      const stats = [...(await commandStats(admin))].sort((a, b) => b[1].usec - a[1].usec);
      const calls = stats.reduce((sum, [, s]) => sum + s.calls, 0);
      console.log(
        `run ${run + 1}: ${applied} entries (${fmt(applied / tasks)} per task), ${fmt(usPerTask)} µs Redis CPU per task, ${fmt(calls / tasks)} commands per task`,
      );
      for (const [name, s] of stats.slice(0, 12)) {
        console.log(
          `  ${name.padEnd(16)} ${fmt(s.calls / tasks).padStart(6)}/task ${fmt(s.usec / tasks).padStart(7)} µs/task`,
        );
      }
      await tp.close();
    }
    samples.sort((a, b) => a - b);
    console.log(
      `projection: median ${fmt(samples[Math.floor(samples.length / 2)]!)} µs per task (${samples.map((s) => fmt(s)).join(', ')})`,
    );
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

await (callgrind ? countInstructions() : timeCpu());
