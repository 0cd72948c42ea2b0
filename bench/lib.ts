import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApi } from '@taskplane/api/testing';
import {
  createLogger,
  createRedis,
  Keys,
  loadConfig,
  type SpawnedRedis,
  spawnRedisServer,
  TaskTypeRegistry,
} from '@taskplane/core';
import { TaskEngine, WorkerHost } from '@taskplane/queue';
import { Queue, Worker } from 'bullmq';
import { z } from 'zod';

/** Each benchmark gets its own redis-server, so its numbers and command counts are its own. */
export async function benchRedis(): Promise<SpawnedRedis> {
  return await spawnRedisServer({
    dir: mkdtempSync(join(tmpdir(), 'tp-bench-')),
    settings: { appendonly: 'no' },
  });
}

/**
 * The real API in this process, on a free port, on the bench's private Redis. The harness reads
 * REDIS_URL when its module loads, hence the late import.
 */
export async function benchApi(redisUrl: string, overrides: Record<string, unknown> = {}): Promise<TestApi> {
  process.env.REDIS_URL = redisUrl;
  const { startTestApi } = await import('@taskplane/api/testing');
  return await startTestApi(overrides);
}

/** The API's counter or gauge value now (`api.metrics.subscriptions`, `api.metrics.executions`). */
export async function metricValue(metric: {
  get(): Promise<{ values: { value: number }[] }>;
}): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

/**
 * A task on the API's engine, and a writer of events about it by the engine's own path: the
 * append-log script writes the record, the event log entry and the live message in one call.
 */
export async function taskEventWriter(
  api: TestApi,
): Promise<{ taskId: string; write(n: number): Promise<number> }> {
  const { engine } = api.services;
  const { keys } = api.runtime;
  const { task } = await engine.submit({ type: 'single_product', params: { url: 'http://127.0.0.1:9/p' } });
  return {
    taskId: task.id,
    write: (n) =>
      engine.redis.tpAppendLog(
        keys.events,
        keys.taskLog(task.id),
        `${keys.prefix}:task:`,
        `${keys.prefix}:idx:`,
        engine.config.events.stream_max_len,
        task.id,
        Date.now(),
        100,
        `line ${n}`,
      ),
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export interface Row {
  metric: string;
  ours: number;
  raw: number;
  unit: string;
}

/** Print side-by-side rows: ours, the raw part, ours relative to it, and the difference. */
export function report(title: string, rows: Row[], rawLabel = 'raw'): void {
  console.log(`\n${title}`);
  console.log(
    `${'metric'.padEnd(36)}${'taskplane'.padStart(15)}${rawLabel.padStart(15)}${'ratio'.padStart(9)}${'diff'.padStart(14)}`,
  );
  for (const row of rows) {
    const cell = (n: number) => `${fmt(n)} ${row.unit}`.padStart(15);
    const diff = row.ours - row.raw;
    console.log(
      `${row.metric.padEnd(36)}${cell(row.ours)}${cell(row.raw)}${`${fmt(row.ours / row.raw)}x`.padStart(9)}${`${diff >= 0 ? '+' : ''}${fmt(diff)} ${row.unit}`.padStart(14)}`,
    );
  }
}

/** p50/p95/p99 rows (in ms) of two latency samples. */
export function latencyRows(label: string, ours: number[], raw: number[], ps = [50, 95, 99]): Row[] {
  return ps.map((p) => ({
    metric: `${label} p${p}`,
    ours: percentile(ours, p),
    raw: percentile(raw, p),
    unit: 'ms',
  }));
}

/** Poll `done` every `everyMs` until it holds; throws after `timeoutMs` so no bench spins forever. */
export async function waitUntil(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 5,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise with its resolve function outside, for "resolve when the last one arrives". */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// ---- BullMQ and the worker host, shared by worker.ts and redis-cost.ts ----

const BULK = 1000;

/** Add `jobs` no-op jobs to a bare BullMQ queue, in bulk. */
export async function addBareJobs(url: string, queueName: string, jobs: number): Promise<void> {
  const connection = createRedis({ url, role: 'worker' });
  const queue = new Queue(queueName, { connection, prefix: 'raw' });
  for (let i = 0; i < jobs; i += BULK) {
    await queue.addBulk(
      Array.from({ length: Math.min(BULK, jobs - i) }, (_, n) => ({ name: 'noop', data: { n: i + n } })),
    );
  }
  await queue.close();
  connection.disconnect();
}

/** Run a bare BullMQ Worker with a no-op processor until `jobs` jobs completed; closes everything. */
export async function drainBare(url: string, queueName: string, jobs: number, concurrency: number) {
  // BullMQ never closes a connection it was handed (it counts it as shared), only the ones it made.
  const connection = createRedis({ url, role: 'worker' });
  let done = 0;
  const finished = deferred();
  const worker = new Worker(queueName, async () => ({ ok: true }), {
    connection,
    prefix: 'raw',
    concurrency,
  });
  worker.on('error', () => {});
  worker.on('completed', () => {
    if (++done === jobs) finished.resolve();
  });
  await finished.promise;
  await worker.close();
  connection.disconnect();
}

/** A TaskEngine on `url` with one queue `bench` and a `noop` task type, as a worker would have. */
export function noopEngine(url: string, concurrency: number) {
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
  const redis = createRedis({ url, role: 'worker' });
  const logger = createLogger('bench', 'warn');
  const engine = new TaskEngine({ config, registry, keys: new Keys('tp'), redis, logger });
  return {
    engine,
    redis,
    async submit(n: number) {
      for (let i = 0; i < n; i += BULK) {
        await engine.submitMany(
          Array.from({ length: Math.min(BULK, n - i) }, (_, j) => ({ type: 'noop', params: { n: i + j } })),
        );
      }
    },
    /** Run a WorkerHost with a no-op handler until `n` successes are recorded (records and events included). */
    async drain(n: number) {
      const host = new WorkerHost({
        engine,
        handlers: { noop: async () => ({ ok: true }) },
        queues: ['bench'],
        redisUrl: url,
        logger,
        catalogueBaseUrl: '',
      });
      await host.start();
      await waitUntil(
        'every task to succeed',
        async () => (await redis.zcard('tp:idx:status:success')) >= n,
        120_000,
        10,
      );
      await host.stop();
    },
    async close() {
      await engine.close();
      redis.disconnect();
    },
  };
}
