// The console's operations against real API and worker processes: cancelling a running task,
// requeueing dead letters in bulk after a dry run, and raising a queue's concurrency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserStack, startBrowserStack, submitProduct, submitProducts } from './stack';

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

    // Requeued, they ran again: each task's record now has a second attempt.
    for (const id of ids) {
      await expect.poll(() => stack.taskField<number>(id, 'attemptsMade')).toBeGreaterThanOrEqual(2);
    }
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
});
