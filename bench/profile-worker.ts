/**
 * CPU profile of the worker side alone: tasks are submitted first (not profiled), then a WorkerHost
 * drains them under the V8 profiler; writes a .cpuprofile to open in Chrome DevTools or speedscope.
 *
 *   node --import tsx bench/profile-worker.ts [--jobs 5000] [--concurrency 50] [--out /tmp/worker.cpuprofile] [--raw]
 *
 * `--raw` profiles a bare BullMQ Worker on the same jobs and job options instead, for comparison.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import { addNoopJobs, arg, benchRedis, drainBare, engineJobOptions, noopEngine } from './lib';

const jobs = arg('jobs', 5000);
const concurrency = arg('concurrency', 50);
const outAt = process.argv.indexOf('--out');
const out = outAt >= 0 ? (process.argv[outAt + 1] ?? '') : '/tmp/worker.cpuprofile';
const bare = process.argv.includes('--raw');
const server = await benchRedis();
const tp = noopEngine(server.url, concurrency, 'prof');

/** The same jobs on a plain BullMQ queue, and a bare Worker draining them. */
async function rawSide() {
  const connection = createRedis({ url: server.url, role: 'worker' });
  const queue = new Queue('raw', { connection, prefix: 'raw' });
  await addNoopJobs(queue, jobs, engineJobOptions(tp.engine));
  return async () => {
    await drainBare('raw', jobs, { connection, prefix: 'raw', concurrency });
    await queue.close();
    connection.disconnect();
  };
}
const session = new Session();
session.connect();
try {
  if (!bare) await tp.submit(jobs);
  const drain = bare ? await rawSide() : () => tp.drain(jobs);
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const start = performance.now();
  await drain();
  const used = process.cpuUsage(cpu);
  const elapsed = performance.now() - start;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  console.log(
    `${jobs} jobs in ${elapsed.toFixed(0)} ms (${((jobs / elapsed) * 1000).toFixed(0)}/s), ${((used.user + used.system) / jobs).toFixed(0)} µs CPU/job; profile in ${out}`,
  );
} finally {
  session.disconnect();
  await tp.close();
  await server.stop();
}
