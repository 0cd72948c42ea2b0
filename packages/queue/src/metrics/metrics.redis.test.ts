import { createLogger, TERMINAL_EVENT_KINDS } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness';
import { HOUR_MS, MINUTE_MS } from './metric-fields';
import { MetricsKeeper } from './metrics-keeper';
import { type MetricCounts, type MetricsSeries, MetricsStore } from './metrics-store';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const sum = (series: MetricsSeries): MetricCounts => {
  const out = { ...series.points[0]!.counts };
  for (const p of series.points.slice(1))
    for (const [k, v] of Object.entries(p.counts)) out[k as keyof MetricCounts] += v;
  return out;
};

/** A mixed workload on queue `work`, run to its end: what each counter must say. */
async function runMixedWorkload(h: Harness): Promise<MetricCounts> {
  const ok = Array.from({ length: 5 }, () => ({ type: 'work', params: { sleepMs: 5 } }));
  const retriedThenOk = Array.from({ length: 2 }, () => ({
    type: 'work',
    params: { fail: 'until_attempt', untilAttempt: 2 },
    maxAttempts: 3,
  }));
  const deadAtOnce = Array.from({ length: 3 }, () => ({ type: 'work', params: { fail: 'permanent' } }));
  const retriedThenDead = [{ type: 'work', params: { fail: 'transient' }, maxAttempts: 2 }];
  const outcomes = await h.engine.submitMany([...ok, ...retriedThenOk, ...deadAtOnce, ...retriedThenDead]);
  const { task: waiting } = await h.engine.submit({ type: 'work', params: {}, delayMs: 60_000 });
  await h.engine.cancel(waiting.id, 'not needed');
  await h.startWorker();
  const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
  await h.waitForEvents(
    (all) => ids.every((id) => all.some((e) => e.taskId === id && TERMINAL_EVENT_KINDS.has(e.kind))),
    20_000,
  );
  return {
    submitted: 12,
    started: 5 + 2 * 2 + 3 + 2,
    succeeded: 7,
    failed: 4,
    retried: 3,
    cancelled: 1,
    dead_lettered: 4,
    stalled: 0,
  };
}

describe('metrics over time', () => {
  it('counts every transition of a workload exactly, retries, cancels and dead letters included', async () => {
    h = await createHarness();
    const began = Date.now();
    const expected = await runMixedWorkload(h);
    const store = MetricsStore.of(h.engine);
    const to = Date.now() + MINUTE_MS;
    const series = await store.series({ queue: 'work' }, began - MINUTE_MS, to, MINUTE_MS);
    expect(series.resolution).toBe('minute');
    expect(sum(series)).toEqual(expected);
    expect(sum(await store.series({ type: 'work' }, began - MINUTE_MS, to, 5 * MINUTE_MS))).toEqual(expected);
    const ran = series.points.reduce((n, p) => n + (p.run?.count ?? 0), 0);
    // Every attempt that ended has a run time; every first start of an attempt a wait.
    expect(ran).toBe(expected.succeeded + expected.failed + expected.retried);
    expect(series.points.reduce((n, p) => n + (p.wait?.count ?? 0), 0)).toBe(expected.started);
    const [totals] = await store.totals();
    expect(totals).toMatchObject({ queue: 'work', type: 'work', counts: expected });
    expect(totals!.run.count).toBe(ran);
  });

  it('folds minutes into an hour that equals their sum, once, and expires them after the retention', async () => {
    h = await createHarness({ metrics: { minute_retention: '2h', hour_retention: '3d' } });
    const began = Date.now();
    const expected = await runMixedWorkload(h);
    const store = MetricsStore.of(h.engine);
    const keeper = new MetricsKeeper(h.engine, createLogger('test', 'warn'));
    await keeper.sample();
    const firstHour = Math.floor(began / HOUR_MS) * HOUR_MS;
    const to = firstHour + 2 * HOUR_MS;
    const minutes = await store.series({ queue: 'work' }, firstHour, to, MINUTE_MS);
    const hoursBefore = await store.series({ queue: 'work' }, firstHour, to, HOUR_MS);
    expect(hoursBefore.resolution).toBe('hour');
    expect(sum(hoursBefore)).toEqual(expected);

    // Fold as if two hours had passed: every minute of the workload is closed.
    await keeper.fold(Date.now() + 2 * HOUR_MS);
    const hours = await store.series({ queue: 'work' }, firstHour, to, HOUR_MS);
    for (const [i, hour] of hours.points.entries()) {
      const inHour = minutes.points.filter((m) => m.at >= hour.at && m.at < hour.at + HOUR_MS);
      const counts = sum({ ...minutes, points: inHour });
      expect(hour.counts).toEqual(counts);
      expect(hour.run?.count ?? 0).toBe(inHour.reduce((n, m) => n + (m.run?.count ?? 0), 0));
      expect(hour.run?.p99Ms).toBe(hoursBefore.points[i]!.run?.p99Ms);
    }
    expect(hours.points.some((p) => p.gauges !== null)).toBe(true);
    const { keys, redis } = h.engine;
    const hourKey = keys.metricsHour('work', Math.floor(began / HOUR_MS));
    const minuteKey = keys.metricsMinute('work', Math.floor(began / MINUTE_MS));
    expect(await redis.pttl(minuteKey)).toBeGreaterThan(HOUR_MS);
    expect(await redis.pttl(minuteKey)).toBeLessThanOrEqual(2 * HOUR_MS + MINUTE_MS);
    expect(await redis.pttl(hourKey)).toBeGreaterThan(2 * 24 * HOUR_MS);

    // Folding again changes nothing, and the totals count every minute once.
    const before = await redis.hgetall(hourKey);
    await new MetricsKeeper(h.engine, createLogger('test', 'warn')).fold(Date.now() + 2 * HOUR_MS);
    expect(await redis.hgetall(hourKey)).toEqual(before);
    const [totals] = await store.totals();
    expect(totals!.counts).toEqual(expected);
  });
});
