// The console's operations against real API and worker processes: cancelling a running task,
// following a failing task's timeline, requeueing dead letters in bulk after a dry run, and
// changing a queue's concurrency, seen live by a second operator.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  markPage,
  screenshot,
  signInOn,
  startBrowserStack,
  submitProduct,
  submitProducts,
  submitTasks,
  wasNotReloaded,
} from './stack';

describe('console operations', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    // One task at a time on products, so raising the concurrency shows.
    stack = await startBrowserStack('operations', { TASKPLANE_QUEUES__PRODUCTS__CONCURRENCY: '1' });
    await stack.signIn();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('cancels a running task from its page', async () => {
    const { page } = stack;
    const id = await submitProduct(stack, stack.productUrl(3, 60_000));
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.goto(`${stack.console.url}/tasks/${id}`);
    const status = page.getByTestId('task-status');
    await status.locator('[data-status="RUNNING"]').waitFor();
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await status.locator('[data-status="CANCELLED"]').waitFor();
    expect(await page.getByTestId('timeline').textContent()).toContain('Cancelled');
    // A cancelled task can run again; nothing is left to cancel.
    await page.getByRole('button', { name: 'Retry task' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
    await stack.browser.screenshot('console-task-cancelled');
  });

  it('requeues dead letters in bulk after a dry run, with live progress', async () => {
    const { page } = stack;
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByText('No dead letters match.').waitFor();
    const ids = await submitProducts(
      stack,
      ['missing-a', 'missing-b', 'missing-c'].map((n) => stack.productUrl(n)),
    );
    // They appear as they are dead-lettered, without a reload.
    for (const id of ids) await page.locator(`[data-testid="dead-letter"][data-task-id="${id}"]`).waitFor();

    await page.getByRole('button', { name: 'Requeue…' }).click();
    expect(await page.getByTestId('bulk-count').textContent()).toBe('3');
    await stack.browser.screenshot('console-dead-letters-confirm');
    await page.getByRole('button', { name: 'Requeue 3' }).click();
    const progress = page.getByTestId('bulk-progress');
    await page.locator('[data-testid="bulk-progress"][data-state="DONE"]').waitFor();
    expect(await progress.textContent()).toMatch(/3 of 3 · 3 ok/);
    await stack.browser.screenshot('console-dead-letters-requeued');

    // Requeued, they ran again: each task's record keeps the first run's attempt and adds another.
    for (const id of ids) {
      const attempts = async () =>
        (
          await stack.graphql<{ task: { attempts: unknown[] } }>(
            'query ($id: ID!) { task(id: $id) { attempts { attempt } } }',
            { id },
          )
        ).task.attempts.length;
      await expect.poll(attempts).toBeGreaterThanOrEqual(2);
    }
  });

  it('shows a task’s real event history on its timeline, live: retries, errors and worker ids', async () => {
    const { page } = stack;
    // Fails with a 500 twice (two attempts, 200 ms apart), slowly enough to watch.
    const [id] = await submitTasks(stack, [
      {
        type: 'single_product',
        params: { url: `${stack.productUrl(51, 1_000)}&fault=500` },
        maxAttempts: 2,
        backoff: { baseDelayMs: 200, jitter: 0 },
      },
    ]);
    await page.goto(`${stack.console.url}/tasks/${id}`);
    const timeline = page.getByTestId('timeline');
    await timeline.getByText('Submitted').waitFor();
    await markPage(page);

    await page.getByTestId('task-status').locator('[data-status="DEAD_LETTERED"]').waitFor();
    await timeline.getByText('Dead-lettered').waitFor();
    expect(await wasNotReloaded(page)).toBe(true);
    const entries = await timeline.locator('li').allTextContents();
    const { task } = await stack.graphql<{ task: { attempts: { workerId: string }[] } }>(
      'query ($id: ID!) { task(id: $id) { attempts { workerId } } }',
      { id },
    );
    const worker = task.attempts[0]?.workerId;
    expect(entries.map((entry) => entry.replace(/^\d\d:\d\d:\d\d/, '').trim())).toEqual([
      'Submitted',
      `Attempt 1 started on ${worker}`,
      expect.stringMatching(/^Attempt 1 failed, will retry.*500/s),
      `Attempt 2 started on ${worker}`,
      expect.stringMatching(/^Attempt 2 failed.*500/s),
      'Dead-lettered',
    ]);
    expect(await page.getByTestId('timeline-gap').count()).toBe(0);
    await stack.browser.screenshot('console-task-timeline');
  });

  it('raises a queue’s concurrency and more tasks run at once', async () => {
    const { page } = stack;
    await page.getByRole('link', { name: 'Workers & queues' }).click();
    const products = page.locator('[data-testid="queue-row"][data-queue="products"]');
    await products.getByTestId('queue-concurrency').getByText('1 per worker').waitFor();
    await submitProducts(
      stack,
      [41, 42, 43, 44, 45, 46].map((n) => stack.productUrl(n, 6_000)),
    );
    await products.getByTestId('queue-running').getByText('1', { exact: true }).waitFor();

    await products.getByLabel('Concurrency', { exact: true }).fill('3');
    await products.getByRole('button', { name: 'Set', exact: true }).first().click();
    await products.getByTestId('queue-concurrency').getByText('3 per worker').waitFor();
    await products.getByTestId('queue-running').getByText('3', { exact: true }).waitFor();
    await stack.browser.screenshot('console-workers-concurrency');
  });

  it('shows another operator’s change of concurrency and rate limit without a reload', async () => {
    const a = stack.page;
    // Its own starting point, whatever the tests before it left.
    await stack.graphql(
      'mutation { setQueueConcurrency(name: "products", concurrency: 3) { __typename } setQueueRateLimit(name: "products") { __typename } }',
    );
    await a.getByRole('link', { name: 'Workers & queues' }).click();
    // Operator B, in another browser context, watches the queue table and the overview.
    const operator = await stack.token('OPERATOR');
    const b = await stack.otherOperator(operator, '/workers');
    const overview = await b.context.newPage();
    await signInOn(overview, `${stack.console.url}/`, operator);
    const row = (page: Page) => page.locator('[data-testid="queue-row"][data-queue="products"]');
    const card = overview.locator('[data-testid="queue-card"][data-queue="products"]');
    await row(b.page).getByTestId('queue-concurrency').getByText('3 per worker').waitFor();
    await card.getByTestId('queue-concurrency').getByText('3 per worker').waitFor();
    await Promise.all([markPage(b.page), markPage(overview)]);

    const concurrency = row(a).getByRole('form', { name: 'Concurrency of products' });
    await concurrency.getByLabel('Concurrency').fill('2');
    await concurrency.getByRole('button', { name: 'Set' }).click();
    const rate = row(a).getByRole('form', { name: 'Rate limit of products' });
    await rate.getByLabel('Task starts per window').fill('20');
    await rate.getByLabel('Window in milliseconds').fill('1000');
    await rate.getByRole('button', { name: 'Set' }).click();

    // B's pages follow the queueStats pushes: the limits, and the input B has not touched.
    for (const limits of [row(b.page), card]) {
      await limits.getByTestId('queue-concurrency').getByText('2 per worker').waitFor();
      await limits.getByTestId('queue-rate-limit').getByText('20 starts/s').waitFor();
    }
    expect(await row(b.page).getByLabel('Concurrency', { exact: true }).inputValue()).toBe('2');
    expect(await wasNotReloaded(b.page)).toBe(true);
    expect(await wasNotReloaded(overview)).toBe(true);
    await screenshot(b.page, 'console-workers-operator-b');
    await screenshot(overview, 'console-overview-operator-b');
    await b.context.close();
    expect(stack.browser.pageErrors).toEqual([]);
  });
});
