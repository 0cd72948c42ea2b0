// What an operator does on day one: `pnpm start`, open the console, sign in with the token the
// banner shows, see the fleet, submit a product-sync task from the form and watch it succeed
// against the bundled demo catalogue. The whole process tree of scripts/start.ts, a real browser.
import { createRedis, freePort } from '@taskplane/core';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type BrowserSession, launchBrowser } from '../helpers/browser';
import { type RunningProcess, startControlPlane } from '../helpers/processes';
import { cleanupPrefix, sharedRedisUrl, uniquePrefix } from '../helpers/redis';
import { screenshot, signInOn } from './stack';

const prefix = uniquePrefix('start-console');
let plane: RunningProcess | undefined;
let browser: BrowserSession | undefined;

afterAll(async () => {
  await browser?.close();
  await plane?.stop('SIGTERM', 45_000);
  const redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
  await cleanupPrefix(redis, prefix);
  redis.disconnect();
});

describe('pnpm start, then the console', () => {
  it('shows the fleet from the API and runs a task submitted from the form', async () => {
    plane = startControlPlane({
      env: {
        REDIS_URL: sharedRedisUrl(),
        TASKPLANE_PREFIX: prefix,
        TASKPLANE_API__PORT: String(await freePort()),
        TASKPLANE_CONSOLE__PORT: String(await freePort()),
      },
    });
    onTestFailed(() => console.log(`--- output of scripts/start.ts ---\n${plane?.output()}`));
    await plane.waitForLine(/Taskplane is running/, 100_000);
    const [, consoleUrl] = await plane.waitForLine(/Console: (http:\/\/\S+)/);
    const [, catalogueUrl] = await plane.waitForLine(/Catalog: (http:\/\/\S+)/);
    const [, token] = await plane.waitForLine(/Sign in: (tp_dev_\S+)/);

    browser = await launchBrowser();
    const { page } = browser;
    await signInOn(page, consoleUrl!, token);
    // The overview reads the queues and the worker `pnpm start` runs from the API.
    for (const queue of ['products', 'search', 'shops', 'sync']) {
      await page.getByRole('heading', { name: queue, exact: true }).waitFor();
    }
    await expect
      .poll(() => page.getByText('Workers online').locator('..').textContent())
      .toMatch(/Workers online\s*1\b/);
    await screenshot(page, 'start-overview');

    await page.goto(`${consoleUrl}/submit`);
    await page.getByLabel('Task type').selectOption('single_product');
    await page.getByLabel('URL', { exact: true }).fill(`${catalogueUrl}/products/p12`);
    await page.getByRole('button', { name: 'Submit task' }).click();
    await page.getByTestId('submitted-task').click();
    await page.getByTestId('task-status').locator('[data-status="SUCCESS"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('task-result').textContent()).toContain('p12');
  });
});
