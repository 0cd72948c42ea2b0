// The console's schedules against real API and worker processes (whose schedulers fire the ticks):
// a schedule created from the form with the API's field errors shown inline, its tasks appearing
// live, pausing it, the schedule on its tasks' pages, run now and delete from the list, and what
// a viewer sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserStack, markPage, screenshot, startBrowserStack, wasNotReloaded } from './stack';

const EVERY_SECOND = '*/1 * * * * *';

interface ScheduleState {
  paused: boolean;
  updatedAt: string;
  lastOutcome: { tick: string } | null;
}

interface ScheduledTaskRecord {
  id: string;
  createdAt: string;
  idempotencyKey: string | null;
}

describe('console schedules', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack('schedules');
    await stack.signIn();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const schedule = async (id: string) =>
    (
      await stack.graphql<{ schedule: ScheduleState }>(
        'query ($id: ID!) { schedule(id: $id) { paused updatedAt lastOutcome { tick } } }',
        { id },
      )
    ).schedule;

  const tasksOf = async (scheduleId: string) =>
    (
      await stack.graphql<{ tasks: { totalCount: number; nodes: ScheduledTaskRecord[] } }>(
        `query ($filter: TaskFilter) {
          tasks(filter: $filter, first: 500) { totalCount nodes { id createdAt idempotencyKey } }
        }`,
        { filter: { scheduleId } },
      )
    ).tasks;

  /** A tick's nominal time, from its task's idempotency key (`schedule:<id>:<tick ms>`). */
  const tickOf = (task: ScheduledTaskRecord) => Number(task.idempotencyKey?.split(':').at(-1));

  it('creates an every-second schedule from the form, shows its tasks live, and pausing stops them', async () => {
    const { page, browser } = stack;
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.getByRole('link', { name: 'Schedules', exact: true }).click();
    await page.getByText('No schedules yet.').waitFor();
    await page.getByRole('link', { name: 'New schedule' }).click();

    // Every bad field at once, each message next to its field; nothing is stored.
    await page.getByLabel('Name').fill('every second');
    await page.getByLabel('Task type').selectOption('single_product');
    await page.getByLabel('URL', { exact: true }).fill('ftp://catalogue.invalid/p1');
    await page.getByLabel('Cron', { exact: true }).fill('61 * * * *');
    await page.getByLabel('Time zone').fill('Mars/Olympus');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    for (const path of ['cron', 'timezone', 'params.url'])
      await page.locator(`[data-error-for="${path}"]`).waitFor();
    expect(await page.getByLabel('Cron', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-error-for="name"]').count()).toBe(0);
    // The sticky header would be drawn mid-page on a scrolled full-page screenshot.
    await page.evaluate(() => window.scrollTo(0, 0));
    await browser.screenshot('console-schedule-form-errors');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-schedule-form-errors-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    const stored = await stack.graphql<{ schedules: { nodes: unknown[] } }>(
      '{ schedules { ... on ScheduleConnection { nodes { id } } } }',
    );
    expect(stored.schedules.nodes).toEqual([]);

    await page.getByLabel('URL', { exact: true }).fill(stack.productUrl(1));
    await page.getByLabel('Cron', { exact: true }).fill(EVERY_SECOND);
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    // From /schedules/new to the new schedule's page.
    await page.waitForURL((url) => /^\/schedules\/(?!new$)[^/]+$/.test(url.pathname));
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
    await page.getByRole('heading', { name: 'every second' }).waitFor();
    expect(await page.getByTestId('next-runs').locator('li time').count()).toBe(5);

    // Ticks' tasks appear as they are submitted, without a reload.
    await markPage(page);
    await page.locator('[data-testid="schedule-task-count"][data-following="true"]').waitFor();
    await expect
      .poll(() => page.getByTestId('schedule-task').count(), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    await page.locator('[data-testid="schedule-task"][data-status="SUCCESS"]').first().waitFor();
    expect(await wasNotReloaded(page)).toBe(true);
    await browser.screenshot('console-schedule');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-schedule-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Paused: once the page says so, no tick after the pause submits a task.
    await page.getByRole('button', { name: 'Pause every second' }).click();
    await page.getByTestId('schedule-state').getByText('paused').waitFor();
    const countWhenPaused = Number(await page.getByTestId('schedule-task-count').textContent());
    const pausedAt = Date.parse((await schedule(id)).updatedAt);
    expect((await schedule(id)).paused).toBe(true);

    // The server's clock, read from another every-second schedule: once it has fired a tick two
    // seconds past the pause, the paused one would have fired (at least) twice since.
    const clock = await stack.graphql<{ createSchedule: { id: string } }>(
      `mutation ($input: CreateScheduleInput!) { createSchedule(input: $input) { ... on Schedule { id } } }`,
      {
        input: {
          name: 'clock',
          cron: EVERY_SECOND,
          task: { type: 'single_product', params: { url: stack.productUrl(2) } },
        },
      },
    );
    await expect
      .poll(async () => Date.parse((await schedule(clock.createSchedule.id)).lastOutcome?.tick ?? '0'), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(pausedAt + 2_000);

    const { totalCount, nodes } = await tasksOf(id);
    // No tick after the pause made a task. A tick already being fired when the pause landed may
    // still add its task just after it (its time is before the pause): the page counts it too.
    expect(nodes.filter((task) => tickOf(task) > pausedAt)).toEqual([]);
    const inFlight = nodes.filter((task) => Date.parse(task.createdAt) > pausedAt).length;
    expect(inFlight).toBeLessThanOrEqual(1);
    await expect
      .poll(() => page.getByTestId('schedule-task-count').textContent())
      .toBe(String(countWhenPaused + inFlight));
    expect(totalCount).toBe(countWhenPaused + inFlight);
    expect(await wasNotReloaded(page)).toBe(true);

    // A task's page links to its schedule, by name.
    const taskId = await page.getByTestId('schedule-task').first().getAttribute('data-task-id');
    await page.goto(`${stack.console.url}/tasks/${taskId}`);
    const link = page.getByTestId('task-schedule');
    await link.getByText('every second').waitFor();
    await link.click();
    await page.waitForURL(`**/schedules/${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: 'every second' }).waitFor();
    expect(browser.pageErrors).toEqual([]);
  });

  it('lists schedules live; runs one now, edits it, and deletes another after a confirmation', async () => {
    const { page, browser } = stack;
    await page.getByRole('link', { name: 'Schedules', exact: true }).click();
    const row = (name: string) => page.locator('[data-testid="schedule-row"]', { hasText: name });
    await row('every second').getByTestId('schedule-state').getByText('paused').waitFor();
    // The clock schedule keeps firing: its last outcome links the newest task, live.
    const clock = row('clock');
    const firstTask = await clock.locator('[data-testid="tick-outcome"] a').getAttribute('href');
    await expect
      .poll(() => clock.locator('[data-testid="tick-outcome"] a').getAttribute('href'))
      .not.toBe(firstTask);
    await browser.screenshot('console-schedules');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-schedules-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    const paused = row('every second');
    await paused.getByRole('button', { name: 'Run every second now' }).click();
    const ran = paused.getByRole('status');
    await ran.getByText('Ran:').waitFor();
    const manual = (await ran.locator('a').getAttribute('href'))!.split('/').at(-1);
    expect(await stack.taskField<string>(manual!, 'scheduleId')).toBe(
      await paused.getAttribute('data-schedule-id'),
    );
    // Run now leaves it paused.
    expect(await paused.getAttribute('data-paused')).toBe('true');

    // Edited to an interval: a too-short one is refused next to its field, then saved.
    await paused.getByRole('link', { name: 'every second' }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    expect(await page.getByLabel('Cron', { exact: true }).inputValue()).toBe(EVERY_SECOND);
    expect(await page.getByLabel('URL', { exact: true }).inputValue()).toBe(stack.productUrl(1));
    await page.getByLabel('Fixed interval').check();
    await page.getByLabel('Every').fill('0.5');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.locator('[data-error-for="intervalMs"]').waitFor();
    await page.getByLabel('Every').fill('1');
    await page.getByLabel('Interval unit').selectOption('h');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByTestId('next-runs').waitFor();
    await page.getByText('every 1 h').waitFor();
    expect(await page.getByTestId('schedule-state').textContent()).toBe('paused');
    await page.getByRole('link', { name: '← Schedules' }).click();
    await paused.getByText('every 1 h').waitFor();

    await clock.getByRole('button', { name: 'Delete clock' }).click();
    await clock.getByRole('group', { name: 'Confirm deletion' }).waitFor();
    await screenshot(page, 'console-schedule-delete-confirm');
    await clock.getByRole('button', { name: 'Delete schedule' }).click();
    await clock.waitFor({ state: 'detached' });
    expect(await page.getByTestId('schedule-row').count()).toBe(1);
    expect(browser.pageErrors).toEqual([]);
  });

  it('shows a viewer the schedules but no control', async () => {
    const { page } = stack;
    const viewer = await stack.token('VIEWER');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await stack.signIn(viewer, '/schedules');
    const row = page.getByTestId('schedule-row').first();
    await row.waitFor();
    expect(await page.getByRole('link', { name: 'New schedule' }).count()).toBe(0);
    expect(await page.getByTestId('schedule-controls').count()).toBe(0);
    await row.getByRole('link').first().click();
    await page.getByTestId('next-runs').waitFor();
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button').filter({ hasNotText: 'Sign out' }).count()).toBe(0);
  });
});
