// A burst of events into the open Tasks page: 3,000 tasks of a no-op type submitted in batches
// while a worker runs them, about 9,000 events at well over 1,000 a second. Pause freezes the list
// while events keep arriving, nothing is lost while paused, and after Resume the list holds exactly
// the events the API sent. How smooth the page stays (frames, long tasks) is measured by
// `pnpm bench`, not here: a benchmark is not a test. The event log is capped at 1,000 here, so the burst also
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

  it('Pause freezes the list mid-burst while events keep arriving, and every event shows once resumed', async () => {
    const { page } = stack;
    await page.setViewportSize({ width: 1366, height: 768 });
    await stack.signIn(undefined, '/tasks');
    await streamFollowing(page);
    const list = page.getByRole('region', { name: 'Task events, newest first' });

    // A task that outlives the burst, whose first events the burst pushes out of the log.
    const [sleeper] = await submitTasks(stack, [{ type: 'sleep', params: { ms: 120_000 } }]);
    await page.locator(`[data-task-id="${sleeper}"][data-kind="STARTED"]`).waitFor();

    const submitting = (async () => {
      for (let first = 0; first < TASKS; first += BATCH) {
        const inputs = Array.from({ length: BATCH }, (_, i) => ({ type: 'noop', params: { n: first + i } }));
        await submitTasks(stack, inputs);
      }
    })();

    // Pause in the thick of it: the list stops changing at once while events keep arriving.
    await expect.poll(() => rowCount(list), BURST_TIMEOUT).toBeGreaterThan(1_000);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
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
    expect(await rowCount(list)).toBe(frozen);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => rowCount(list), BURST_TIMEOUT).toBeGreaterThanOrEqual(expected);
    expect(await streamCounts(page)).toEqual({ received: expected, buffered: 0 });
    expect(await rowCount(list)).toBe(expected);
    await stack.browser.screenshot('console-tasks-burst');

    // Rows are slots the list refills as it scrolls: at the very bottom, the oldest events show,
    // the sleeper's submitted then started, in order and each once.
    await list.evaluate((viewport) => {
      viewport.scrollTop = viewport.scrollHeight;
    });
    const rows = list.getByTestId('stream-row');
    await expect
      .poll(async () => (await rows.last().getAttribute('data-task-id')) ?? '', BURST_TIMEOUT)
      .toBe(sleeper);
    const tail = await rows.evaluateAll((elements) =>
      elements.slice(-2).map((row) => `${row.getAttribute('data-task-id')} ${row.getAttribute('data-kind')}`),
    );
    expect(tail).toEqual([`${sleeper} STARTED`, `${sleeper} SUBMITTED`]);
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
