import { listWorkers, queueSlots } from '../presence';
import type { TaskEngine } from '../task-engine';
import type { MetricGauge } from './metric-fields';

/** One queue's gauges at one moment (see `MetricGauge`); `oldestWaitingMs` is null when none is found pending. */
export type QueueGauges = Record<Exclude<MetricGauge, 'oldestWaitingMs'>, number> & {
  oldestWaitingMs: number | null;
};

/** Pending tasks read per step, and at most, when looking for each queue's oldest. */
const WALK_CHUNK = 200;
const WALK_MAX = 2_000;

/**
 * Each queue's oldest pending task's creation time, from the pending index (all queues, oldest
 * first) checked against each queue's index with ZMSCORE: a bounded walk of at most `WALK_MAX`
 * entries, so a queue whose oldest pending task is behind that many of other queues' gets none.
 */
async function oldestPending(engine: TaskEngine, queues: string[]): Promise<Map<string, number>> {
  const { redis, keys } = engine;
  const found = new Map<string, number>();
  for (let offset = 0; offset < WALK_MAX && found.size < queues.length; offset += WALK_CHUNK) {
    const page = await redis.zrange(
      keys.indexStatus('pending'),
      offset,
      offset + WALK_CHUNK - 1,
      'WITHSCORES',
    );
    const ids = page.filter((_, i) => i % 2 === 0);
    if (ids.length === 0) break;
    const missing = queues.filter((q) => !found.has(q));
    const pipeline = redis.pipeline();
    for (const queue of missing) pipeline.zmscore(keys.indexQueue(queue), ...ids);
    const replies = (await pipeline.exec()) ?? [];
    missing.forEach((queue, q) => {
      const scores = (replies[q]?.[1] ?? []) as (string | null)[];
      const i = scores.findIndex((s) => s !== null);
      if (i >= 0) found.set(queue, Number(page[i * 2 + 1]));
    });
    if (ids.length < WALK_CHUNK) break;
  }
  return found;
}

/**
 * Every queue's gauges now, from BullMQ's counts, the pending index and worker presence: bounded
 * commands only (LLEN/ZCARD, a capped walk, the presence set), no scan of tasks. Without
 * `oldestWaiting` the walk for each queue's oldest pending task is skipped (its gauge is null):
 * the alert evaluator, every few seconds, needs only counts and consumers.
 */
export async function sampleGauges(
  engine: TaskEngine,
  now = Date.now(),
  options: { oldestWaiting?: boolean } = {},
): Promise<Map<string, QueueGauges>> {
  const queues = engine.queueNames();
  const [counts, settings, workers, oldest] = await Promise.all([
    Promise.all(queues.map((q) => engine.counts(q))),
    Promise.all(queues.map((q) => engine.queueSettings(q))),
    listWorkers(engine.redis, engine.keys),
    options.oldestWaiting === false ? new Map<string, number>() : oldestPending(engine, queues),
  ]);
  const gauges = new Map<string, QueueGauges>();
  queues.forEach((queue, i) => {
    const c = counts[i]!;
    const consuming = workers.filter((w) => w.queues.includes(queue));
    const created = oldest.get(queue);
    gauges.set(queue, {
      pending: c.pending,
      delayed: c.delayed,
      running: c.running,
      blocked: c.blocked,
      deadLettered: c.deadLettered,
      oldestWaitingMs: created === undefined ? null : Math.max(0, now - created),
      workers: consuming.length,
      fleet: workers.length,
      slots: queueSlots(queue, settings[i]!.globalConcurrency, workers),
    });
  });
  return gauges;
}
