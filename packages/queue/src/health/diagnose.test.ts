import { loadConfig } from '@taskplane/core';
import { describe, expect, it } from 'vitest';
import { METRIC_COUNTERS } from '../metrics/metric-fields';
import type { MetricCounts } from '../metrics/metrics-store';
import type { WorkerPresence } from '../presence';
import { diagnose, type RecentMetrics, type WindowFigures } from './diagnose';
import type { PlaneFacts, QueueFacts } from './plane-health';

const config = loadConfig({});
const counts = { pending: 0, delayed: 0, running: 0, blocked: 0, deadLettered: 0, succeeded: 0 };
const settings = {
  concurrency: 5,
  rateLimit: null,
  globalConcurrency: null,
  preemption: null,
  groups: { concurrency: null, rateLimit: null, window: 50 },
};
const worker = (queues: string[], concurrency = 5): WorkerPresence => ({
  id: `w-${queues.join()}`,
  host: 'h',
  pid: 1,
  queues,
  concurrency: Object.fromEntries(queues.map((q) => [q, concurrency])),
  runningTasks: [],
  memoryRss: 0,
  startedAt: 0,
  lastSeenAt: 0,
});
const queue = (
  over: Omit<Partial<QueueFacts>, 'counts'> & { counts?: Partial<QueueFacts['counts']> } = {},
): QueueFacts => ({
  name: 'products',
  paused: false,
  consumers: 1,
  slots: 5,
  settings,
  ...over,
  counts: { ...counts, ...over.counts },
});
const facts = (over: Partial<PlaneFacts> = {}): PlaneFacts => ({
  at: 0,
  redis: { latencyMs: 1, version: '7', memory: { usedBytes: 1, maxBytes: null, policy: 'noeviction' } },
  workers: [worker(['products'])],
  queues: [],
  finished: 0,
  schedules: { schedulerLeading: true, overdue: 0 },
  ...over,
});
const figures = (c: Partial<MetricCounts>, runMeanMs: number | null = null): WindowFigures => {
  const all = { ...(Object.fromEntries(METRIC_COUNTERS.map((k) => [k, 0])) as MetricCounts), ...c };
  const ended = all.succeeded + all.failed + all.retried;
  return { counts: all, failureRate: ended ? (all.failed + all.retried) / ended : null, runMeanMs };
};
const none: RecentMetrics = { queueHour: new Map(), queueWait: new Map(), typeHour: new Map() };
const codes = (f: PlaneFacts, recent = none) => diagnose(f, recent, config).map((x) => x.code);

describe('diagnostics rules', () => {
  it('finds pending work no worker consumes, and no workers at all', () => {
    const queues = [queue({ name: 'search', consumers: 0, slots: 0, counts: { pending: 3 } })];
    expect(codes(facts({ queues }))).toEqual(['no_consumer']);
    expect(codes(facts({ queues, workers: [] }))).toEqual(['no_workers']);
  });

  it('finds Redis near its memory limit, and not without a limit; and an evicting policy', () => {
    const near = { usedBytes: 90, maxBytes: 100, policy: 'noeviction' };
    const redis = (memory: typeof near) => ({ latencyMs: 1, version: '7', memory });
    expect(codes(facts({ redis: redis(near) }))).toEqual(['redis_memory']);
    expect(codes(facts({ redis: redis({ ...near, usedBytes: 50 }) }))).toEqual([]);
    expect(codes(facts({ redis: redis({ ...near, usedBytes: 50, policy: 'allkeys-lru' }) }))).toEqual([
      'redis_eviction',
    ]);
  });

  it('suggests more slots only when they cannot reach the rate limit', () => {
    const limited = queue({
      consumers: 2,
      slots: 10,
      settings: { ...settings, rateLimit: { max: 10, durationMs: 1000 } },
    });
    const recent = (runMeanMs: number): RecentMetrics => ({
      ...none,
      queueHour: new Map([['products', figures({ succeeded: 100 }, runMeanMs)]]),
    });
    // 10/s × 2 s = 20 slots needed, two workers give 10: 10 each.
    const [finding] = diagnose(facts({ queues: [limited] }), recent(2000), config);
    expect(finding).toMatchObject({
      code: 'concurrency_below_rate_limit',
      suggestion: 'taskplane concurrency products 10',
    });
    expect(codes(facts({ queues: [limited] }), recent(100))).toEqual([]);
  });

  it('finds a high failure rate and a saturated queue', () => {
    const busy = queue({ counts: { pending: 50, running: 5 } });
    const recent = { ...none, queueHour: new Map([['products', figures({ succeeded: 20, retried: 20 })]]) };
    expect(codes(facts({ queues: [busy] }), recent)).toEqual(['saturated', 'high_failure_rate']);
  });

  it('tells wait time growing with idle slots from wait time growing with every slot busy', () => {
    const wait = (p95Ms: number) => ({ count: 50, meanMs: p95Ms / 2, p50Ms: p95Ms / 2, p95Ms, p99Ms: p95Ms });
    const recent: RecentMetrics = { ...none, queueWait: new Map([['products', [wait(1000), wait(5000)]]]) };
    const idle = queue({ counts: { pending: 10, running: 1 } });
    const full = queue({ counts: { pending: 3, running: 5 } });
    expect(codes(facts({ queues: [idle] }), recent)).toEqual(['wait_growing_while_idle']);
    expect(codes(facts({ queues: [full] }), recent)).toEqual(['wait_growing_saturated']);
    const steady: RecentMetrics = { ...none, queueWait: new Map([['products', [wait(4000), wait(5000)]]]) };
    expect(codes(facts({ queues: [idle] }), steady)).toEqual([]);
  });

  it('finds stalls while workers stay online, and finished records piling up past retention', () => {
    const recent = { ...none, typeHour: new Map([['single_product', figures({ started: 30, stalled: 2 })]]) };
    expect(diagnose(facts(), recent, config)[0]).toMatchObject({ code: 'stalls', type: 'single_product' });
    const keep = config.retention.finished_max_count;
    expect(codes(facts({ finished: keep * 2 }))).toEqual(['finished_pile_up']);
  });
});
