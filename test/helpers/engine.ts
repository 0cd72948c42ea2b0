import {
  createLogger,
  createRedis,
  createRegistry,
  Keys,
  loadConfig,
  type TaskEvent,
  type TaskplaneConfig,
} from '@taskplane/core';
import { decodeStreamEntry } from '@taskplane/events';
import { TaskEngine } from '@taskplane/queue';
import { cleanupPrefix, sharedRedisUrl } from './redis';

/**
 * Test task types run by real worker processes (handlers in test/fixtures/handlers): `noop` and
 * `fail` (a dead letter at once) on queue `bulk`, `sleep` on queue `slow`, with short locks so a killed worker's task moves on quickly.
 */
export const TEST_TYPES_CONFIG = {
  queues: {
    bulk: { concurrency: 20, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
    slow: { concurrency: 2, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
  },
  task_types: {
    noop: {
      queue: 'bulk',
      params: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
    },
    fail: { queue: 'bulk', params: { type: 'object', additionalProperties: false } },
    sleep: {
      queue: 'slow',
      params: {
        type: 'object',
        properties: { ms: { type: 'integer', minimum: 0 }, ignoreAbort: { type: 'boolean' } },
        required: ['ms'],
        additionalProperties: false,
      },
    },
  },
  workers: {
    queues: ['bulk', 'slow'],
    handler_modules: ['./test/fixtures/handlers/index.ts'],
    lock_duration: '2s',
    stalled_interval: '1s',
    shutdown_timeout: '1s',
    heartbeat_interval: '1s',
  },
  retry: { base_delay: '100ms', max_delay: '1s', jitter: 0 },
};

export interface TestEngine {
  config: TaskplaneConfig;
  engine: TaskEngine;
  /** Every event in the log, oldest first. */
  events(): Promise<TaskEvent[]>;
  /** Resolves once `predicate` holds over the log; projects first, since no worker may be up. */
  waitFor(
    predicate: (events: TaskEvent[]) => boolean | Promise<boolean>,
    timeoutMs?: number,
    what?: string,
  ): Promise<TaskEvent[]>;
  close(): Promise<void>;
}

/** An engine in the test process, sharing `prefix` and configuration with the apps it tests. */
export function testEngine(
  prefix: string,
  overrides: Record<string, unknown> = TEST_TYPES_CONFIG,
  redisUrl = sharedRedisUrl(),
): TestEngine {
  const config = loadConfig({ overrides: { ...overrides, redis: { prefix } } });
  const keys = new Keys(prefix);
  const redis = createRedis({ url: redisUrl, role: 'worker' });
  const engine = new TaskEngine({
    config,
    registry: createRegistry(config),
    keys,
    redis,
    logger: createLogger('test', 'warn'),
  });
  const events = async () => {
    const entries = (await redis.xrange(keys.events, '-', '+')) as [string, string[]][];
    return entries.map(([id, fields]) => decodeStreamEntry(id, fields));
  };
  return {
    config,
    engine,
    events,
    async waitFor(predicate, timeoutMs = 30_000, what = 'events') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const queue of engine.queueNames()) await engine.project(queue);
        const all = await events();
        if (await predicate(all)) return all;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what} (${all.length} events so far)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const name of engine.queueNames())
        await engine
          .queue(name)
          .obliterate({ force: true })
          .catch(() => {});
      await engine.close();
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** The most attempts that ran at the same time, from their recorded start and finish times. */
export function maxOverlap(intervals: { startedAt: number | null; finishedAt: number | null }[]): number {
  const points: [number, number][] = [];
  for (const { startedAt, finishedAt } of intervals) {
    if (startedAt === null || finishedAt === null) continue;
    points.push([startedAt, 1], [finishedAt, -1]);
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let max = 0;
  for (const [, delta] of points) {
    running += delta;
    max = Math.max(max, running);
  }
  return max;
}
