import { type AlertRule, QUEUE_METRICS, redisMemory } from '@taskplane/core';
import { MINUTE_MS } from '../metrics/metric-fields';
import { type MetricBucket, MetricsStore, pointOver } from '../metrics/metrics-store';
import { type QueueGauges, sampleGauges } from '../metrics/queue-gauges';
import type { TaskEngine } from '../task-engine';

/** A failure rate over fewer ended attempts than this is no value: two failures of two are noise. */
export const MIN_FAILURE_SAMPLES = 5;

/** Metrics read from the minute buckets of the rule's window. */
const WINDOWED = new Set(['failure_rate', 'avg_duration', 'stalled', 'dead_letters']);

/** One value a rule is judged on: per queue for queue metrics, else once (queue null). */
export interface Measurement {
  rule: AlertRule;
  queue: string | null;
  value: number | null;
}

/**
 * What the enabled rules (worker_gone aside) measure now. Reads are bounded: per queue the minute
 * buckets of the longest window once (`MAX_ALERT_WINDOW_MS` at most), the queue gauges once, and
 * `INFO memory` once, whatever the number of rules.
 */
export async function measure(engine: TaskEngine, rules: AlertRule[], now: number): Promise<Measurement[]> {
  const active = rules.filter((r) => r.enabled && r.metric !== 'worker_gone');
  const queues = engine.queueNames();
  const queuesOf = (rule: AlertRule) =>
    QUEUE_METRICS.has(rule.metric) ? (rule.scope.queue ? [rule.scope.queue] : queues) : [null];
  const needsGauges = active.some((r) => r.metric === 'queue_size' || r.metric === 'no_consumer');
  const longest = new Map<string, number>();
  for (const rule of active) {
    if (!WINDOWED.has(rule.metric)) continue;
    for (const queue of queuesOf(rule)) {
      if (queue !== null) longest.set(queue, Math.max(longest.get(queue) ?? 0, rule.windowMs));
    }
  }
  const store = MetricsStore.of(engine);
  const current = Math.floor(now / MINUTE_MS);
  const [gauges, memory, buckets] = await Promise.all([
    needsGauges ? sampleGauges(engine, now, { oldestWaiting: false }) : new Map<string, QueueGauges>(),
    active.some((r) => r.metric === 'redis_memory') ? redisMemory(engine.redis) : null,
    Promise.all(
      [...longest].map(async ([queue, windowMs]) => {
        const minutes = await store.minutes(queue, Math.floor((now - windowMs) / MINUTE_MS), current);
        return [queue, minutes] as const;
      }),
    ),
  ]);
  const minutesOf = new Map<string, Map<number, MetricBucket>>(buckets);

  const value = (rule: AlertRule, queue: string | null): number | null => {
    if (rule.metric === 'redis_memory') return memory?.maxBytes ? memory.usedBytes / memory.maxBytes : null;
    if (queue === null) return null;
    const g = gauges.get(queue);
    if (rule.metric === 'queue_size') return g ? g.pending : null;
    if (rule.metric === 'no_consumer') return g ? (g.workers === 0 ? g.pending : 0) : null;
    const first = Math.floor((now - rule.windowMs) / MINUTE_MS);
    const inWindow = [...(minutesOf.get(queue) ?? [])].filter(([m]) => m >= first);
    const point = pointOver(queue, rule.scope.type, inWindow);
    const { succeeded, failed, retried } = point.counts;
    switch (rule.metric) {
      case 'failure_rate':
        return succeeded + failed + retried >= MIN_FAILURE_SAMPLES ? point.failureRate : null;
      case 'avg_duration':
        return point.run?.meanMs ?? null;
      case 'stalled':
        return point.counts.stalled;
      case 'dead_letters':
        return point.counts.dead_lettered;
      default:
        return null;
    }
  };
  return active.flatMap((rule) =>
    queuesOf(rule).map((queue) => ({ rule, queue, value: value(rule, queue) })),
  );
}
