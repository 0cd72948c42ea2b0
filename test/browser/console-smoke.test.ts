// The console against real API and worker processes: signing in, submitting from the form and
// watching the task live, what a viewer may (not) do, and a screenshot of every page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrowserStack,
  markPage,
  screenshot,
  signInOn,
  startBrowserStack,
  streamFollowing,
  submitProduct,
  submitProducts,
  wasNotReloaded,
} from './stack';

/** Buttons that change something; a viewer must see none of them. */
const CHANGING = /^(Submit task|Cancel task|Retry task|Pause|Resume|Set|Remove|Requeue…|Purge…)$/;

describe('console', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack('smoke');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('signs in, submits a task from the form and shows it pending, running and succeeded, live', async () => {
    const { page, browser } = stack;
    await stack.signIn(undefined, '/tasks');
    expect(await page.getByTestId('viewer-role').textContent()).toBe('admin');
    await page.getByRole('status').getByText('Connected').waitFor();
    await streamFollowing(page);
    await markPage(page);

    // A second tab submits while the first watches the stream.
    const submitter = await browser.context.newPage();
    await signInOn(submitter, `${stack.console.url}/submit`);
    await submitter.getByLabel('Task type').selectOption('batch_products');

    // The API's field errors land next to the field they name (params.urls.1 is the second URL).
    await submitter.getByLabel('URLs 1', { exact: true }).fill(stack.productUrl(1));
    await submitter.getByRole('button', { name: 'Add URL' }).click();
    await submitter.getByLabel('URLs 2', { exact: true }).fill('not a url');
    await submitter.getByLabel('Batch size').fill('5000');
    await submitter.getByRole('button', { name: 'Submit task' }).click();
    await expect
      .poll(() => submitter.locator('[data-error-for="params.urls.1"]').textContent())
      .toMatch(/URL/);
    expect(await submitter.locator('[data-error-for="params.batch_size"]').textContent()).toBeTruthy();
    expect(await submitter.getByLabel('URLs 2', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await submitter.locator('[data-error-for="params.urls.0"]').count()).toBe(0);
    await submitter.setViewportSize({ width: 1366, height: 768 });
    await stack.browser.page.bringToFront();
    await screenshot(submitter, 'submit-field-errors');

    await submitter.getByLabel('Task type').selectOption('single_product');
    await submitter.getByLabel('URL', { exact: true }).fill(stack.productUrl(7, 2_500));
    await submitter.getByRole('button', { name: 'Submit task' }).click();
    const link = submitter.getByTestId('submitted-task');
    const id = (await link.textContent())!.trim();
    await markPage(submitter);
    await link.click();
    // The detail page follows the task without a reload: running, then success.
    await submitter.getByTestId('task-status').locator('[data-status="RUNNING"]').waitFor();
    await submitter.getByTestId('task-status').locator('[data-status="SUCCESS"]').waitFor();
    expect(await wasNotReloaded(submitter)).toBe(true);
    const timeline = await submitter.getByTestId('timeline').textContent();
    expect(timeline).toMatch(/Submitted.*Attempt 1 started.*Succeeded/s);
    expect(await submitter.getByTestId('task-result').textContent()).toContain('p7');
    expect(await submitter.getByTestId('task-logs').textContent()).toContain('fetching /products/p7');
    await submitter.close();

    // The stream in the first tab saw each step as it happened.
    for (const [kind, status] of [
      ['SUBMITTED', 'PENDING'],
      ['STARTED', 'RUNNING'],
      ['SUCCEEDED', 'SUCCESS'],
    ]) {
      await page
        .locator(
          `[data-testid="stream-row"][data-task-id="${id}"][data-kind="${kind}"][data-status="${status}"]`,
        )
        .waitFor();
    }
    expect(await wasNotReloaded(page)).toBe(true);
    expect(stack.browser.pageErrors).toEqual([]);
  });

  it('pauses the stream, buffering events, and applies them on resume', async () => {
    const { page } = stack;
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await streamFollowing(page);
    await page.getByRole('button', { name: 'Pause' }).click();
    const ids = await submitProducts(stack, [stack.productUrl(11), stack.productUrl(12)]);
    await expect.poll(() => page.getByTestId('buffered').textContent()).toMatch(/^[1-9]\d* buffered$/);
    for (const id of ids)
      expect(await page.locator(`[data-task-id="${id}"][data-kind="SUBMITTED"]`).count()).toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    for (const id of ids) await page.locator(`[data-task-id="${id}"][data-kind="SUBMITTED"]`).waitFor();
  });

  it('takes a screenshot of every page, light and dark, at 1366x768', async () => {
    const { page, browser } = stack;
    await page.setViewportSize({ width: 1366, height: 768 });
    // Every page's streams share the one WebSocket opened at sign-in: touring opens no other.
    let sockets = 0;
    page.on('websocket', () => sockets++);
    await submitProducts(stack, [stack.productUrl('missing-1')]);
    const done = await submitProduct(stack, stack.productUrl(21));
    const tour: [string, string, () => Promise<unknown>][] = [
      [
        'overview',
        'Overview',
        // Attached, not visible: a steady rate draws a flat line, which has no height to be seen.
        () => page.locator('[data-testid="queue-card"] svg polyline').first().waitFor({ state: 'attached' }),
      ],
      [
        'tasks',
        'Tasks',
        async () => {
          await streamFollowing(page);
          const ids = await submitProducts(
            stack,
            [31, 32, 33, 'missing-3'].map((n) => stack.productUrl(n, 500)),
          );
          for (const id of ids) await page.locator(`[data-task-id="${id}"][data-kind="STARTED"]`).waitFor();
        },
      ],
      ['submit', 'Submit', () => page.getByLabel('URL', { exact: true }).waitFor()],
      ['workers', 'Workers & queues', () => page.getByTestId('worker-row').first().waitFor()],
      ['dead-letters', 'Dead letters', () => page.getByTestId('dead-letter').first().waitFor()],
    ];
    for (const [name, link, ready] of tour) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await ready();
      await browser.screenshot(`console-${name}`);
      await page.emulateMedia({ colorScheme: 'dark' });
      await browser.screenshot(`console-${name}-dark`);
      await page.emulateMedia({ colorScheme: 'light' });
    }
    expect(sockets).toBe(0);
    await page.goto(`${stack.console.url}/tasks/${done}`);
    await page.getByTestId('task-status').locator('[data-status="SUCCESS"]').waitFor();
    await browser.screenshot('console-task-detail');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-task-detail-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    // An unknown id: the task subscription answers NOT_FOUND.
    await page.goto(`${stack.console.url}/tasks/no-such-task`);
    await page.getByRole('heading', { name: 'Task not found' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    await browser.screenshot('console-sign-in');
    expect(browser.pageErrors).toEqual([]);
  });

  it('shows a viewer nothing that changes anything, and the API refuses them if forced', async () => {
    const { page } = stack;
    const viewer = await stack.token('VIEWER');
    const dead = await submitProduct(stack, stack.productUrl('missing-2'));
    await stack.signIn(viewer, '/');
    expect(await page.getByTestId('viewer-role').textContent()).toBe('viewer');
    expect(await page.getByRole('link', { name: 'Submit' }).count()).toBe(0);

    const pages: [string, () => Promise<unknown>][] = [
      ['/', () => page.getByTestId('queue-card').first().waitFor()],
      ['/workers', () => page.getByTestId('queue-row').first().waitFor()],
      ['/queues/products', () => page.getByTestId('metrics-chart').first().waitFor()],
      ['/dead-letters', () => page.locator(`[data-testid="dead-letter"][data-task-id="${dead}"]`).waitFor()],
      [
        `/tasks/${dead}`,
        () => page.getByTestId('task-status').locator('[data-status="DEAD_LETTERED"]').waitFor(),
      ],
      ['/submit', () => page.getByText('Your role can look but not submit tasks').waitFor()],
    ];
    for (const [path, ready] of pages) {
      await page.goto(`${stack.console.url}${path}`);
      await ready();
      if (path === `/tasks/${dead}`) await stack.browser.screenshot('console-viewer-dead-task');
      const changing = await page.getByRole('button', { name: CHANGING }).count();
      expect(changing, `buttons that change something on ${path}`).toBe(0);
      expect(await page.locator('input[name="concurrency"]').count()).toBe(0);
    }

    // Forced from the page itself, with the viewer's token: the API answers ForbiddenError.
    const answer = await page.evaluate(
      async ({ url, token, id }) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            query: 'mutation ($id: ID!) { retryTask(id: $id) { __typename ... on Error { code message } } }',
            variables: { id },
          }),
        });
        return response.json();
      },
      { url: stack.api.graphqlUrl, token: viewer, id: dead },
    );
    expect(answer.data.retryTask.__typename).toBe('ForbiddenError');
    expect(answer.data.retryTask.code).toBe('FORBIDDEN');
  });
});
