import { type RedisMemory, redisMemory } from '@taskplane/core';
import { listWorkers, queueSlots, type WorkerPresence } from '../presence';
import type { QueueSettings } from '../queue-settings';
import type { QueueCounts, TaskEngine } from '../task-engine';

/** A schedule counts as overdue when its next run is this far in the past and it has not fired. */
export const SCHEDULE_OVERDUE_MS = 60_000;

/** What one queue looks like now: its counts, settings and the workers that consume it. */
export interface QueueFacts {
  name: string;
  paused: boolean;
  counts: QueueCounts;
  settings: QueueSettings;
  /** Worker processes consuming the queue now. */
  consumers: number;
  /** Tasks the consumers can run at once (their concurrency summed, under the global cap). */
  slots: number;
}

/** The facts health and diagnostics are read from, gathered in a few bounded reads. */
export interface PlaneFacts {
  at: number;
  redis: { latencyMs: number; version: string; memory: RedisMemory };
  workers: WorkerPresence[];
  queues: QueueFacts[];
  /** Finished task records kept (the retention index). */
  finished: number;
  schedules: { schedulerLeading: boolean; overdue: number };
}

/** Reads the plane's facts; throws when Redis does not answer. */
export async function gatherFacts(engine: TaskEngine, redisVersion: string): Promise<PlaneFacts> {
  const { redis, keys } = engine;
  const at = Date.now();
  const started = performance.now();
  await redis.ping();
  const latencyMs = performance.now() - started;
  const [memory, workers, finished, overdue, leader] = await Promise.all([
    redisMemory(redis),
    listWorkers(redis, keys),
    redis.zcard(keys.indexFinished),
    redis.zcount(keys.schedulesDue, '-inf', at - SCHEDULE_OVERDUE_MS),
    redis.exists(keys.schedulerLease),
  ]);
  const queues = await Promise.all(
    engine.queueNames().map(async (name): Promise<QueueFacts> => {
      const [counts, settings, paused] = await Promise.all([
        engine.counts(name),
        engine.queueSettings(name),
        engine.queue(name).isPaused(),
      ]);
      return {
        name,
        paused,
        counts,
        settings,
        consumers: workers.filter((w) => w.queues.includes(name)).length,
        slots: queueSlots(name, settings.globalConcurrency, workers),
      };
    }),
  );
  return {
    at,
    redis: { latencyMs, version: redisVersion, memory },
    workers,
    queues,
    finished,
    schedules: { schedulerLeading: leader === 1, overdue },
  };
}

/** Whether the plane can do its work now, and if not, why (the reasons `/readyz` gives). */
export interface PlaneHealth {
  /** "ok"; "degraded" when work cannot progress somewhere (see `reasons`); "down" without Redis. */
  status: 'ok' | 'degraded' | 'down';
  reasons: string[];
  facts: PlaneFacts | null;
}

/** Queues holding pending work that no worker consumes. */
export function queuesWithoutConsumer(facts: PlaneFacts): QueueFacts[] {
  return facts.queues.filter((q) => q.consumers === 0 && q.counts.pending > 0);
}

/**
 * The plane's health: Redis reachable, at least one worker online, every queue with pending work
 * consumed, schedules firing. One check for the `health` query and `/readyz`.
 */
export async function checkHealth(engine: TaskEngine, redisVersion: string): Promise<PlaneHealth> {
  let facts: PlaneFacts;
  try {
    facts = await gatherFacts(engine, redisVersion);
  } catch {
    return { status: 'down', reasons: ['Redis is not reachable'], facts: null };
  }
  const reasons: string[] = [];
  if (facts.workers.length === 0) reasons.push('no worker process is online');
  for (const queue of queuesWithoutConsumer(facts)) {
    reasons.push(`queue ${queue.name} has ${queue.counts.pending} pending tasks and no worker consumes it`);
  }
  if (facts.schedules.overdue > 0) {
    reasons.push(
      `${facts.schedules.overdue} schedule(s) overdue by more than ${SCHEDULE_OVERDUE_MS / 1000} s${facts.schedules.schedulerLeading ? '' : ' (no scheduler holds the lease)'}`,
    );
  }
  const { memory } = facts.redis;
  if (memory.maxBytes && memory.usedBytes >= memory.maxBytes * 0.95) {
    reasons.push(`Redis memory at ${Math.round((memory.usedBytes / memory.maxBytes) * 100)}% of maxmemory`);
  }
  return { status: reasons.length ? 'degraded' : 'ok', reasons, facts };
}
