/**
 * What the projection alone costs Redis per task: no-op jobs are added and run by bare BullMQ (with
 * the engine's job data and options, finished jobs kept so the projection can read them), then
 * the projection applies the whole event stream while `INFO cpu` and `INFO commandstats` watch.
 * For working on `project.lua`: run it before and after a change, several times (it is noisy).
 *
 *   node --import tsx bench/profile-projection.ts [--tasks 5000] [--runs 3]
 */
import { createRedis } from '@taskplane/core';
import type { JobData } from '@taskplane/queue';
import { newTaskId } from '@taskplane/queue';
import { arg, benchRedis, drainBare, fmt, noopEngine, redisCpuMs } from './lib';

const tasks = arg('tasks', 5000);
const runs = arg('runs', 3);
const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });

async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const text = await admin.info('commandstats');
  return new Map(
    [...text.matchAll(/^cmdstat_([\w|-]+):calls=(\d+),usec=(\d+)/gm)].map((m) => [
      m[1]!,
      { calls: Number(m[2]), usec: Number(m[3]) },
    ]),
  );
}

const samples: number[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const tp = noopEngine(server.url, 50, `pp${run}`);
    const data: JobData = {
      params: {},
      labels: {},
      priority: 5,
      order: 'fifo',
      maxAttempts: 3,
      timeoutMs: 300_000,
      backoff: { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.2 },
    };
    const queue = tp.engine.queue('bench');
    for (let i = 0; i < tasks; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, tasks - i) }, (_, n) => ({
          name: 'noop',
          data: { ...data, params: { n: i + n } },
          opts: { ...tp.engine.jobOptions(newTaskId(), data, 0, 0), removeOnComplete: false },
        })),
      );
    }
    await drainBare('bench', tasks, { connection: tp.redis, prefix: tp.keys.bullPrefix, concurrency: 50 });
    await admin.config('RESETSTAT');
    const before = await redisCpuMs(admin);
    let applied = 0;
    for (;;) {
      const result = await tp.engine.project('bench');
      applied += result.applied;
      if (result.applied === 0) break;
    }
    const usPerTask = (((await redisCpuMs(admin)) - before) * 1000) / tasks;
    samples.push(usPerTask);
    const stats = [...(await commandStats())].sort((a, b) => b[1].usec - a[1].usec);
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
