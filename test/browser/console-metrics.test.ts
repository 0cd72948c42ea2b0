// The console's metrics charts against real API and worker processes: a day of history seeded in
// the stack's Redis prefix (as the transition scripts and the keeper's fold would have left it) plus
// live tasks, charted over 24 h on Overview, over 7 d by the range selector, and per queue.
import { createRedis, Keys } from '@taskplane/core';
import { gaugeFields, HOUR_MS, MetricCounter, MetricSketch, MINUTE_MS, SKETCH_GAMMA } from '@taskplane/queue';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRedisUrl, waitUntil } from '../helpers';
import { type BrowserStack, startBrowserStack, submitProducts } from './stack';

type Redis = ReturnType<typeof createRedis>;

/** What one seeded minute of a queue holds: counts of its one task type, and durations in ms. */
interface SeededMinute {
  type: string;
  succeeded: number;
  failed: number;
  runMs: number;
  waitMs: number;
}

/** DDSketch bucket of `ms`, as scripts/metrics.lua computes it. */
const bucketOf = (ms: number) => (ms > 1 ? Math.ceil(Math.log(ms) / Math.log(SKETCH_GAMMA)) : 0);

/** One minute's hash fields, in the layout scripts/metrics.lua writes (metric-fields.ts). */
function minuteFields(minute: number, seed: SeededMinute): Record<string, number> {
  const ended = seed.succeeded + seed.failed;
  const field = (...parts: (string | number)[]) => [seed.type, ...parts].join('|');
  return {
    [field(MetricCounter.Submitted)]: ended,
    [field(MetricCounter.Started)]: ended,
    [field(MetricCounter.Succeeded)]: seed.succeeded,
    [field(MetricCounter.Failed)]: seed.failed,
    [field(MetricCounter.DeadLettered)]: seed.failed,
    [field(MetricSketch.Run, bucketOf(seed.runMs))]: ended,
    // A wait that changes through the day, so the chart has a shape.
    [field(MetricSketch.Wait, bucketOf(seed.waitMs * (1 + (minute % 60) / 60)))]: ended,
  };
}

/**
 * Writes `hours` whole hours of one queue's metrics: each minute's hash (counters, sketches and
 * gauges) and each hour's, the minutes' sum with the last gauges, as metrics-fold.lua leaves them.
 * The hours end at least an hour ago, behind the keeper's fold checkpoint, so it never folds them
 * again. Returns the counts written.
 */
async function seedHistory(
  redis: Redis,
  keys: Keys,
  queue: string,
  hours: number[],
  seed: (minute: number) => SeededMinute,
): Promise<{ succeeded: number; failed: number }> {
  const totals = { succeeded: 0, failed: 0 };
  const pipeline = redis.pipeline();
  for (const hour of hours) {
    const hourKey = keys.metricsHour(queue, hour);
    for (let minute = hour * 60; minute < (hour + 1) * 60; minute++) {
      const values = seed(minute);
      totals.succeeded += values.succeeded;
      totals.failed += values.failed;
      const key = keys.metricsMinute(queue, minute);
      const fields = minuteFields(minute, values);
      const gauges = gaugeFields({
        pending: minute % 13,
        delayed: 0,
        running: minute % 3,
        blocked: 0,
        deadLettered: 0,
        oldestWaitingMs: null,
        workers: 1,
        fleet: 1,
        slots: 5,
      });
      pipeline
        .hset(key, fields)
        .hset(key, ...gauges)
        .pexpire(key, HOUR_MS);
      for (const [name, value] of Object.entries(fields)) pipeline.hincrby(hourKey, name, value);
      pipeline.hset(hourKey, ...gauges);
    }
    pipeline.pexpire(hourKey, HOUR_MS);
  }
  await pipeline.exec();
  return totals;
}

/** The chart titled `title` (its start), once uPlot has drawn points. */
async function chart(page: Page, title: string) {
  const locator = page.locator(`[data-testid="metrics-chart"][data-title^="${title}"]`);
  await expect.poll(async () => Number(await locator.getAttribute('data-points'))).toBeGreaterThan(0);
  const read = async (name: string) => Number(await locator.getAttribute(`data-${name}`));
  return {
    points: await read('points'),
    from: await read('from'),
    to: await read('to'),
    firstValueAt: await read('first-value-at'),
    lastValueAt: await read('last-value-at'),
  };
}

/** The range's totals the panel shows, once they say `succeeded`. */
async function waitForTotals(page: Page, expected: { succeeded: number; failed: number }) {
  const total = (key: string) => page.locator(`[data-testid="metrics-totals"] [data-total="${key}"]`);
  await expect.poll(async () => Number(await total('succeeded').textContent())).toBe(expected.succeeded);
  expect(Number(await total('failed').textContent())).toBe(expected.failed);
}

describe('console metrics charts', () => {
  let stack: BrowserStack;
  let redis: Redis;
  /** What was written per queue, and the live tasks on top. */
  const seeded: Record<string, { succeeded: number; failed: number }> = {};
  const LIVE = 3;

  beforeAll(async () => {
    stack = await startBrowserStack('metrics');
    redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
    const keys = new Keys(stack.prefix);
    // The keeper has folded once (its checkpoint exists): hourly reads take the seeded hours as
    // folded, not also their minutes.
    for (const queue of ['products', 'search']) {
      await waitUntil(
        async () => ((await redis.exists(keys.metricsFolded(queue))) ? true : undefined),
        `the keeper's first fold of ${queue}`,
        { timeoutMs: 20_000 },
      );
    }
    const now = Date.now();
    const first = Math.ceil((now - 24 * HOUR_MS) / HOUR_MS);
    const hours = Array.from({ length: Math.floor(now / HOUR_MS) - 1 - first }, (_, i) => first + i);
    // Per queue: its task type, successes per minute, a failure every n minutes, durations.
    const history = [
      ['products', 'single_product', 2, 10, 200, 40],
      ['search', 'search_products', 1, 30, 900, 400],
    ] as const;
    for (const [queue, type, succeeded, failEvery, runMs, waitMs] of history) {
      seeded[queue] = await seedHistory(redis, keys, queue, hours, (minute) => ({
        type,
        succeeded,
        failed: minute % failEvery === 0 ? 1 : 0,
        runMs,
        waitMs,
      }));
    }
    const ids = await submitProducts(
      stack,
      Array.from({ length: LIVE }, (_, n) => stack.productUrl(n + 1)),
    );
    for (const id of ids) {
      await waitUntil(
        async () => ((await stack.taskField<string>(id, 'status')) === 'SUCCESS' ? true : undefined),
        `live task ${id} to succeed`,
      );
    }
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  it('charts 24 h of every queue on Overview, and 7 d when the range is switched, in the URL', async () => {
    const { page } = stack;
    const all = {
      succeeded: seeded.products!.succeeded + seeded.search!.succeeded + LIVE,
      failed: seeded.products!.failed + seeded.search!.failed,
    };
    await stack.signIn();
    const opened = Date.now();
    await page.locator('[data-testid="metrics"][data-range="24h"]').waitFor();
    expect(await page.getByTestId('metrics-step').getAttribute('data-step')).toBe('600');
    await waitForTotals(page, all);

    // Ten-minute points from 24 h ago to now; the seeded hours start within the first hour, the
    // live tasks are in the last points.
    const day = await chart(page, 'Throughput');
    expect(day.points).toBeGreaterThanOrEqual(144);
    expect(day.points).toBeLessThanOrEqual(145);
    expect(day.from).toBeLessThanOrEqual(opened - 24 * HOUR_MS);
    expect(day.from).toBeGreaterThan(opened - 24 * HOUR_MS - 10 * MINUTE_MS);
    expect(day.to).toBeGreaterThan(opened - 10 * MINUTE_MS);
    expect(day.firstValueAt - day.from).toBeLessThanOrEqual(HOUR_MS);
    expect(day.lastValueAt).toBeGreaterThan(opened - 20 * MINUTE_MS);
    for (const title of ['Failure rate', 'Run time', 'Wait time', 'Queue depth'])
      expect((await chart(page, title)).points).toBe(day.points);
    await stack.browser.screenshot('console-metrics-24h');
    await page.emulateMedia({ colorScheme: 'dark' });
    await stack.browser.screenshot('console-metrics-24h-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.getByRole('navigation', { name: 'Metrics range' }).getByRole('link', { name: '7 d' }).click();
    await page.locator('[data-testid="metrics"][data-range="7d"]').waitFor();
    expect(new URL(page.url()).searchParams.get('range')).toBe('7d');
    await expect.poll(() => page.getByTestId('metrics-step').getAttribute('data-step')).toBe('3600');
    await expect.poll(async () => (await chart(page, 'Throughput')).points).toBeGreaterThanOrEqual(168);
    const week = await chart(page, 'Throughput');
    expect(week.points).toBeLessThanOrEqual(169);
    expect(week.from).toBeLessThanOrEqual(opened - 7 * 24 * HOUR_MS);
    // The same tasks, read from the hour buckets (and the minutes not folded yet).
    await waitForTotals(page, all);
    expect(week.firstValueAt).toBeGreaterThanOrEqual(opened - 25 * HOUR_MS);

    // A link keeps the range.
    await page.reload();
    await page.locator('[data-testid="metrics"][data-range="7d"]').waitFor();
    expect(stack.browser.pageErrors).toEqual([]);
  });

  it('shows a queue its own series on its page, linked from Overview', async () => {
    const { page } = stack;
    await page.goto(`${stack.console.url}/`);
    await page
      .locator('[data-testid="queue-card"][data-queue="search"]')
      .getByRole('link', { name: 'search' })
      .click();
    await page.waitForURL(/\/queues\/search$/);
    expect(await page.getByTestId('queue-name').textContent()).toBe('search');
    await page.getByTestId('queue-now').waitFor();
    await waitForTotals(page, seeded.search!);
    const day = await chart(page, 'Throughput');
    expect(day.firstValueAt - day.from).toBeLessThanOrEqual(HOUR_MS);
    await stack.browser.screenshot('console-queue-page');

    await page.goto(`${stack.console.url}/queues/products?range=1h`);
    await page.locator('[data-testid="metrics"][data-range="1h"]').waitFor();
    expect(await page.getByTestId('metrics-step').getAttribute('data-step')).toBe('60');
    // The last hour holds only the live tasks (the seeded hours end an hour or more ago).
    await waitForTotals(page, { succeeded: LIVE, failed: 0 });
    expect((await chart(page, 'Throughput')).points).toBeGreaterThanOrEqual(60);

    await page.goto(`${stack.console.url}/queues/products?range=24h`);
    await waitForTotals(page, {
      succeeded: seeded.products!.succeeded + LIVE,
      failed: seeded.products!.failed,
    });

    await page.goto(`${stack.console.url}/queues/no-such-queue`);
    await page.getByRole('heading', { name: 'Queue not found' }).waitFor();
    expect(stack.browser.pageErrors).toEqual([]);
  });
});
