// The API restarts while the Tasks page is open: the page shows the outage, reconnects to the new
// process on the same port, and resumes the stream after its last cursor, so the events of the
// tasks that ran meanwhile appear, and none twice.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  startBrowserStack,
  streamFollowing,
  submitProduct,
  submitProducts,
} from './stack';

const KINDS = ['SUBMITTED', 'STARTED', 'SUCCEEDED'] as const;

/** How many stream rows show each of the task's events (rendered rows: the list is short here). */
async function eventCounts(page: Page, id: string): Promise<number[]> {
  return Promise.all(
    KINDS.map((kind) =>
      page.locator(`[data-testid="stream-row"][data-task-id="${id}"][data-kind="${kind}"]`).count(),
    ),
  );
}

describe('console reconnect', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack('reconnect');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('resumes the task stream after an API restart with no event missed or doubled', async () => {
    const { page } = stack;
    // A second API process stays up, to submit through while the console's is down.
    const other = await stack.startApi();
    await stack.signIn(undefined, '/tasks');
    const indicator = page.getByRole('status').filter({ hasText: /Connected|Disconnected|Connecting/ });
    await indicator.getByText('Connected').waitFor();
    await streamFollowing(page);

    // A task seen live first, so the stream has a cursor to resume from.
    const before = await submitProduct(stack, stack.productUrl(1, 300));
    await page.locator(`[data-task-id="${before}"][data-kind="SUCCEEDED"]`).waitFor();

    await stack.api.stop();
    await indicator.getByText('Disconnected').waitFor();
    await stack.browser.screenshot('console-tasks-disconnected');

    const meanwhile = await submitProducts(
      stack,
      [2, 3, 4].map((n) => stack.productUrl(n)),
      other,
    );
    for (const id of meanwhile) {
      await expect.poll(() => stack.taskField<string>(id, 'status', other)).toBe('SUCCESS');
    }

    const restarted = await stack.startApi({ TASKPLANE_API__PORT: String(stack.api.port) });
    await indicator.getByText('Connected').waitFor();
    for (const id of meanwhile) {
      await page.locator(`[data-task-id="${id}"][data-kind="SUCCEEDED"]`).waitFor();
      expect(await eventCounts(page, id)).toEqual([1, 1, 1]);
    }
    expect(await eventCounts(page, before)).toEqual([1, 1, 1]);

    // And the stream carries on live.
    const after = await submitProduct(stack, stack.productUrl(5), restarted);
    await page.locator(`[data-task-id="${after}"][data-kind="SUCCEEDED"]`).waitFor();
    expect(await eventCounts(page, after)).toEqual([1, 1, 1]);
    expect(stack.browser.pageErrors).toEqual([]);
  });
});
