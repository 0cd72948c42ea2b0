/**
 * Worker throughput: Taskplane's worker host (processor, records, events, projector) against a bare
 * BullMQ Worker running the same no-op job, same concurrency, same Redis.
 *
 *   node --import tsx bench/worker.ts [jobs=5000] [concurrency=50]
 */
import { addBareJobs, benchRedis, drainBare, fmt, noopEngine, report } from './lib';

const jobs = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 50);
const redis = await benchRedis();

async function timed(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

async function raw(): Promise<number> {
  await addBareJobs(redis.url, 'raw', jobs);
  return await timed(() => drainBare(redis.url, 'raw', jobs, concurrency));
}

async function ours(): Promise<number> {
  const tp = noopEngine(redis.url, concurrency);
  try {
    await tp.submit(jobs);
    // Done when every task's success is recorded: records and events included in the time.
    return await timed(() => tp.drain(jobs));
  } finally {
    await tp.close();
  }
}

try {
  const rawMs = await raw();
  const oursMs = await ours();
  report(
    `worker throughput: ${fmt(jobs, 0)} no-op jobs, concurrency ${concurrency}`,
    [
      { metric: 'jobs per second', ours: jobs / (oursMs / 1000), raw: jobs / (rawMs / 1000), unit: '/s' },
      { metric: 'time to drain', ours: oursMs, raw: rawMs, unit: 'ms' },
    ],
    'bare BullMQ',
  );
} finally {
  await redis.stop();
}
