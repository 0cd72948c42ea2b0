import { randomBytes } from 'node:crypto';
import {
  ChildFailurePolicy,
  createLogger,
  createRedis,
  type HandlerContext,
  type HandlerMap,
  Keys,
  loadConfig,
  PermanentError,
  type TaskEvent,
  type TaskInput,
  type TaskplaneConfig,
  TaskTypeRegistry,
  TransientError,
  waitReady,
} from '@taskplane/core';
import { decodeStreamEntry } from '@taskplane/events';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { type EngineHooks, TaskEngine } from '../task-engine';
import { WorkerHost } from '../worker-host';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Task types for engine tests: behaviour chosen by parameters, so each test says what it needs. */
export const testTypes = new TaskTypeRegistry([
  {
    name: 'work',
    description: 'sleeps, then succeeds or fails as asked',
    queue: 'work',
    params: z.strictObject({
      sleepMs: z.number().int().min(0).default(0),
      fail: z.enum(['never', 'transient', 'permanent', 'until_attempt']).default('never'),
      untilAttempt: z.number().int().default(1),
      retryAfterMs: z.number().int().optional(),
      tag: z.string().optional(),
      ignoreAbort: z.boolean().default(false),
    }),
  },
  {
    name: 'fan',
    description: 'fans out its children, then returns their outcomes, or nothing (the aggregate)',
    queue: 'work',
    params: z.strictObject({
      /** Task inputs of its children (`work`, or `fan` for a nested flow). */
      children: z.array(z.record(z.string(), z.unknown())).default([]),
      onChildFailure: ChildFailurePolicy.optional(),
      /** `outcomes`: return the outcomes as the handler saw them; `nothing`: let the runner aggregate. */
      returns: z.enum(['outcomes', 'nothing']).default('nothing'),
    }),
  },
]);

export interface FanParams {
  children: TaskInput[];
  onChildFailure?: ChildFailurePolicy;
  returns: 'outcomes' | 'nothing';
}

export interface WorkParams {
  sleepMs: number;
  fail: 'never' | 'transient' | 'permanent' | 'until_attempt';
  untilAttempt: number;
  retryAfterMs?: number;
  tag?: string;
  ignoreAbort: boolean;
}

/** Every run, in start order, as the handler saw it. */
export interface RunRecord {
  taskId: string;
  tag?: string;
  attempt: number;
  startedAt: number;
  /** When the handler returned or threw (absent while it runs). */
  endedAt?: number;
  aborted?: unknown;
}

export function workHandlers(runs: RunRecord[]): HandlerMap {
  return {
    fan: async (params: FanParams, ctx) => {
      const outcomes = await ctx.childOutcomes();
      runs.push({
        taskId: ctx.taskId,
        tag: outcomes ? 'fan:resumed' : 'fan',
        attempt: ctx.attempt,
        startedAt: Date.now(),
      });
      if (outcomes === null) return ctx.fanOut(params.children, { onChildFailure: params.onChildFailure });
      return params.returns === 'outcomes' ? outcomes : undefined;
    },
    work: async (params: WorkParams, ctx) => {
      const run: RunRecord = {
        taskId: ctx.taskId,
        tag: params.tag,
        attempt: ctx.attempt,
        startedAt: Date.now(),
      };
      runs.push(run);
      try {
        return await runWork(params, ctx, run);
      } finally {
        run.endedAt = Date.now();
      }
    },
  };
}

async function runWork(params: WorkParams, ctx: HandlerContext, run: RunRecord): Promise<unknown> {
  ctx.log(`attempt ${ctx.attempt} starting`);
  if (params.sleepMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, params.sleepMs);
      if (!params.ignoreAbort) {
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          run.aborted = ctx.signal.reason;
          reject(ctx.signal.reason);
        });
      }
    });
  }
  if (params.fail === 'transient')
    throw new TransientError('upstream said 503', { retryAfterMs: params.retryAfterMs });
  if (params.fail === 'permanent') throw new PermanentError('upstream said 404');
  if (params.fail === 'until_attempt' && ctx.attempt < params.untilAttempt)
    throw new TransientError(`not yet (attempt ${ctx.attempt})`);
  return { tag: params.tag ?? null, attempt: ctx.attempt };
}

export interface Harness {
  prefix: string;
  config: TaskplaneConfig;
  engine: TaskEngine;
  redis: Redis;
  keys: Keys;
  runs: RunRecord[];
  startWorker(overrides?: { queues?: string[] }): Promise<WorkerHost>;
  /**
   * Another engine on the same prefix with its own connection, as another API process has, with
   * fault-injection hooks; closed with the harness.
   */
  otherEngine(hooks?: EngineHooks): Promise<TaskEngine>;
  /** Events of the log, oldest first. */
  events(): Promise<TaskEvent[]>;
  /** Resolves when `predicate` holds for the log (polls the stream; the projector runs in workers). */
  waitForEvents(predicate: (events: TaskEvent[]) => boolean, timeoutMs?: number): Promise<TaskEvent[]>;
  close(): Promise<void>;
}

export async function createHarness(configOverrides: Record<string, unknown> = {}): Promise<Harness> {
  const prefix = `tptest-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    overrides: {
      redis: { prefix },
      queues: {
        work: { concurrency: 2, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
      },
      retry: { base_delay: '50ms', max_delay: '1s', jitter: 0 },
      workers: {
        heartbeat_interval: '1s',
        shutdown_timeout: '2s',
        lock_duration: '5s',
        stalled_interval: '5s',
      },
      ...configOverrides,
    },
  });
  const keys = new Keys(prefix);
  const redis = createRedis({ url: REDIS_URL, role: 'worker' });
  const logger = createLogger('test', 'warn');
  const engine = new TaskEngine({ config, registry: testTypes, keys, redis, logger });
  const runs: RunRecord[] = [];
  const hosts: WorkerHost[] = [];
  const others: TaskEngine[] = [];

  const events = async () => {
    const entries = (await redis.xrange(keys.events, '-', '+')) as [string, string[]][];
    return entries.map(([id, fields]) => decodeStreamEntry(id, fields));
  };

  return {
    prefix,
    config,
    engine,
    redis,
    keys,
    runs,
    async startWorker(overrides = {}) {
      const host = new WorkerHost({
        engine,
        handlers: workHandlers(runs),
        queues: overrides.queues ?? ['work'],
        redisUrl: REDIS_URL,
        logger,
        catalogueBaseUrl: 'http://127.0.0.1:9',
      });
      await host.start();
      hosts.push(host);
      return host;
    },
    async otherEngine(hooks = {}) {
      const connection = createRedis({ url: REDIS_URL, role: 'producer' });
      await waitReady(connection);
      const other = new TaskEngine({ config, registry: testTypes, keys, redis: connection, logger, hooks });
      others.push(other);
      return other;
    },
    events,
    async waitForEvents(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await engine.project('work');
        const all = await events();
        if (predicate(all)) return all;
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for events; have: ${all.map((e) => `${e.taskId}:${e.kind}`).join(' ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await Promise.all(hosts.map((h) => h.stop()));
      for (const other of others.splice(0)) {
        await other.close();
        other.redis.disconnect();
      }
      await engine
        .queue('work')
        .obliterate({ force: true })
        .catch(() => {});
      await engine.close();
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (found.length) await redis.del(...found);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
