/**
 * Worker throughput: Taskplane's worker host (processor, records, events, projector) against a bare
 * BullMQ Worker running the same no-op job, same concurrency, same Redis.
 *
 *   node --import tsx bench/worker.ts [jobs=5000] [concurrency=50]
 */
import { createLogger, createRedis, Keys, loadConfig, TaskTypeRegistry } from '@taskplane/core';
import { TaskEngine, WorkerHost } from '@taskplane/queue';
import { Queue, Worker } from 'bullmq';
import { z } from 'zod';
import { benchRedis, fmt, report } from './lib';

const jobs = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 50);
const redis = await benchRedis();

async function raw(): Promise<number> {
  const connection = createRedis({ url: redis.url, role: 'worker' });
  const queue = new Queue('raw', { connection, prefix: 'raw' });
  await queue.addBulk(Array.from({ length: jobs }, (_, n) => ({ name: 'noop', data: { n } })));
  const start = performance.now();
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker('raw', async () => ({ ok: true }), {
      connection: createRedis({ url: redis.url, role: 'worker' }),
      prefix: 'raw',
      concurrency,
    });
    worker.on('completed', () => {
      if (++done === jobs) void worker.close().then(resolve);
    });
  });
  await finished;
  const elapsed = performance.now() - start;
  await queue.close();
  connection.disconnect();
  return elapsed;
}

async function ours(): Promise<number> {
  const config = loadConfig({
    overrides: {
      redis: { prefix: 'tp' },
      queues: {
        bench: { concurrency, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
      },
      workers: { max_count: Math.max(20, concurrency) },
    },
  });
  const registry = new TaskTypeRegistry([
    { name: 'noop', description: '', queue: 'bench', params: z.object({ n: z.number() }) },
  ]);
  const keys = new Keys('tp');
  const producer = createRedis({ url: redis.url, role: 'worker' });
  const logger = createLogger('bench', 'warn');
  const engine = new TaskEngine({ config, registry, keys, redis: producer, logger });
  for (let i = 0; i < jobs; i += 1000) {
    await engine.submitMany(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, n) => ({ type: 'noop', params: { n: i + n } })),
    );
  }
  const start = performance.now();
  const host = new WorkerHost({
    engine,
    handlers: { noop: async () => ({ ok: true }) },
    queues: ['bench'],
    redisUrl: redis.url,
    logger,
    catalogueBaseUrl: '',
  });
  await host.start();
  // Done when every task's success is recorded: records and events included in the time.
  while ((await engine.store.count({ status: ['success'] })) < jobs)
    await new Promise((r) => setTimeout(r, 10));
  const elapsed = performance.now() - start;
  await host.stop();
  await engine.close();
  producer.disconnect();
  return elapsed;
}

try {
  const rawMs = await raw();
  const oursMs = await ours();
  report(`worker throughput: ${fmt(jobs, 0)} no-op jobs, concurrency ${concurrency}`, [
    {
      metric: 'jobs per second',
      ours: jobs / (oursMs / 1000),
      raw: jobs / (rawMs / 1000),
      unit: '/s',
      lowerIsBetter: false,
    },
    { metric: 'time to drain', ours: oursMs, raw: rawMs, unit: 'ms', lowerIsBetter: true },
  ]);
} finally {
  await redis.stop();
}
