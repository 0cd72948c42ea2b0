// A burst of events into the open Tasks page: 3,000 tasks of a no-op type submitted in batches
// while a worker runs them, about 9,000 events at well over 1,000 a second. The page must stay
// usable: Pause takes effect at once, nothing is lost while paused, and after Resume the list holds
// exactly the events the API sent. Frame timings are sampled and printed for the record, never
// asserted (a benchmark is not a test). The event log is capped at 1,000 here, so the burst also
// trims the early events of a task that outlives it: its timeline shows what is left, with a note.
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG } from '../helpers';
import { type BrowserStack, startBrowserStack, streamFollowing, submitTasks } from './stack';

const TASKS = 3_000;
const BATCH = 250;
/** Each no-op task's events the page shows: submitted, started, succeeded. */
const EVENTS_PER_TASK = 3;
const BURST_TIMEOUT = { timeout: 60_000, interval: 100 };

interface FrameReport {
  frames: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Frames that took longer than 50 ms (three missed vsyncs at 60 Hz). */
  over50: number;
  longTasks: number;
  longTaskMs: number;
}

/** Starts sampling frame intervals (requestAnimationFrame) and long tasks in the page. */
function startFrameSampler(page: Page): Promise<void> {
  return page.evaluate(() => {
    const sampler = { deltas: [] as number[], longTasks: [] as number[], running: true };
    (window as unknown as { frameSampler: typeof sampler }).frameSampler = sampler;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) sampler.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
    let last = performance.now();
    const tick = (now: number) => {
      sampler.deltas.push(now - last);
      last = now;
      if (sampler.running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

function stopFrameSampler(page: Page): Promise<FrameReport> {
  return page.evaluate(() => {
    const sampler = (
      window as unknown as { frameSampler: { deltas: number[]; longTasks: number[]; running: boolean } }
    ).frameSampler;
    sampler.running = false;
    const sorted = sampler.deltas.toSorted((a, b) => a - b);
    const at = (q: number) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return {
      frames: sorted.length,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: Math.round(sorted.at(-1) ?? 0),
      over50: sorted.filter((d) => d > 50).length,
      longTasks: sampler.longTasks.length,
      longTaskMs: Math.round(sampler.longTasks.reduce((sum, d) => sum + d, 0)),
    };
  });
}

/** Rows in the list (the virtual list renders only those in view, and says how many it holds). */
async function rowCount(list: Locator): Promise<number> {
  return Number(await list.getAttribute('data-count'));
}

/** The page's "N events" (applied) and "N buffered" (held while paused). */
async function streamCounts(page: Page): Promise<{ received: number; buffered: number }> {
  const text = (await page.getByTestId('stream-counts').textContent()) ?? '';
  const number = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return { received: number(/(\d+) events/), buffered: number(/(\d+) buffered/) };
}

describe('console under a burst of events', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    // TEST_TYPES_CONFIG adds the `noop` and `sleep` task types (and their worker). Its 2 s lock
    // would let a worker busy with the burst lose locks and rerun tasks: keep the default here.
    const config = {
      ...TEST_TYPES_CONFIG,
      workers: { ...TEST_TYPES_CONFIG.workers, lock_duration: '30s', stalled_interval: '30s' },
    };
    stack = await startBrowserStack('burst', { TASKPLANE_EVENTS__STREAM_MAX_LEN: '1000' }, config);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('stays responsive: Pause takes effect mid-burst and every event shows once resumed', async () => {
    const { page } = stack;
    await page.setViewportSize({ width: 1366, height: 768 });
    await stack.signIn(undefined, '/tasks');
    await streamFollowing(page);
    const list = page.getByRole('region', { name: 'Task events, newest first' });

    // A task that outlives the burst, whose first events the burst pushes out of the log.
    const [sleeper] = await submitTasks(stack, [{ type: 'sleep', params: { ms: 120_000 } }]);
    await page.locator(`[data-task-id="${sleeper}"][data-kind="STARTED"]`).waitFor();

    await startFrameSampler(page);
    const started = Date.now();
    const submitting = (async () => {
      for (let first = 0; first < TASKS; first += BATCH) {
        const inputs = Array.from({ length: BATCH }, (_, i) => ({ type: 'noop', params: { n: first + i } }));
        await submitTasks(stack, inputs);
      }
    })();

    // Pause in the thick of it: the list stops changing at once while events keep arriving.
    await expect.poll(() => rowCount(list), BURST_TIMEOUT).toBeGreaterThan(1_000);
    const clicked = Date.now();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    const pauseMs = Date.now() - clicked;
    const frozen = await rowCount(list);
    await expect.poll(async () => (await streamCounts(page)).buffered, BURST_TIMEOUT).toBeGreaterThan(1_000);
    expect(await rowCount(list)).toBe(frozen);

    await submitting;
    // Plus the sleeper's submitted and started.
    const expected = TASKS * EVENTS_PER_TASK + 2;
    await expect
      .poll(async () => {
        const { received, buffered } = await streamCounts(page);
        return received + buffered;
      }, BURST_TIMEOUT)
      .toBeGreaterThanOrEqual(expected);
    const burstMs = Date.now() - started;
    expect(await rowCount(list)).toBe(frozen);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => rowCount(list), BURST_TIMEOUT).toBeGreaterThanOrEqual(expected);
    expect(await streamCounts(page)).toEqual({ received: expected, buffered: 0 });
    expect(await rowCount(list)).toBe(expected);
    const frames = await stopFrameSampler(page);
    await stack.browser.screenshot('console-tasks-burst');
    console.log(
      `burst: ${expected} events in ${burstMs} ms (${Math.round((expected * 1000) / burstMs)}/s); ` +
        `Pause took effect in ${pauseMs} ms; frames: ${JSON.stringify(frames)}`,
    );
    expect(stack.browser.pageErrors).toEqual([]);

    // The sleeper's submitted and started events are gone from the log; its timeline says so.
    await stack.graphql('mutation ($id: ID!) { cancelTask(id: $id) { __typename } }', { id: sleeper });
    await page.goto(`${stack.console.url}/tasks/${sleeper}`);
    const timeline = page.getByTestId('timeline');
    await timeline.getByText('Cancelled', { exact: true }).waitFor();
    await page.getByTestId('timeline-gap').waitFor();
    expect(await timeline.textContent()).not.toContain('Submitted');
    await stack.browser.screenshot('console-task-trimmed');
  });
});
