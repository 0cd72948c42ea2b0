// The console's Alerts page against real API and worker processes, with the API evaluating the
// rules every 200 ms: a rule created from the form (the API's field errors shown inline) fires
// while the page is open, shows under "Firing now" and in the history without a reload, and
// resolves live; a configured rule is muted and unmuted; the rule is edited and deleted.
import { loadConfig } from '@taskplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG } from '../helpers';
import { type BrowserStack, markPage, startBrowserStack, submitTasks, wasNotReloaded } from './stack';

/** Every default rule off but `queue_size` (its 1000 is never reached here): one configured rule to mute. */
const RULES_OFF = Object.fromEntries(
  Object.keys(loadConfig().alerts.rules)
    .filter((name) => name !== 'queue_size')
    .map((name) => [name, { enabled: false }]),
);

describe('console alerts', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack(
      'alerts',
      {},
      {
        ...TEST_TYPES_CONFIG,
        alerts: { interval: '200ms', lease_duration: '2s', rules: RULES_OFF },
      },
    );
    await stack.signIn();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('creates a rule from the form, shows it firing and resolving live, mutes a configured rule, edits and deletes the rule', async () => {
    const { page, browser } = stack;
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.locator('[data-testid="firing-count"][data-following="true"]').waitFor();
    await page.getByText('Nothing is firing.').waitFor();
    await page.locator('[data-testid="alert-rule"][data-rule-id="config:queue_size"]').waitFor();

    // A window past the API's 6 h cap: the message lands next to the window; nothing is stored.
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New alert rule' });
    await form.getByLabel('Name').fill('bulk failing');
    await form.getByLabel('Metric').selectOption('FAILURE_RATE');
    await form.getByLabel('Queue').fill('bulk');
    await form.getByLabel('Comparison').selectOption('GT');
    await form.getByLabel('Threshold').fill('0.1');
    await form.getByLabel('Window (s)').fill('100000');
    await form.getByLabel('For (s)').fill('1');
    await form.getByLabel('Cooldown (s)').fill('0');
    await form.getByLabel('Severity').selectOption('CRITICAL');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.locator('[data-error-for="windowSeconds"]').waitFor();
    expect(await form.getByLabel('Window (s)').getAttribute('aria-invalid')).toBe('true');
    const { alertRules } = await stack.graphql<{ alertRules: { source: string }[] }>(
      '{ alertRules { source } }',
    );
    expect(alertRules.filter((r) => r.source === 'API')).toEqual([]);

    await form.getByLabel('Window (s)').fill('60');
    await form.getByRole('button', { name: 'Create rule' }).click();
    const row = page.locator('[data-testid="alert-rule"]', { hasText: 'bulk failing' });
    await row.waitFor();
    const ruleId = (await row.getAttribute('data-rule-id'))!;
    expect(await form.count()).toBe(0);

    // Half the tasks fail: the rate crosses 0.1 and holds for 1 s; the page shows it as it fires.
    await markPage(page);
    await submitTasks(stack, [
      ...Array.from({ length: 5 }, () => ({ type: 'fail', params: {} })),
      ...Array.from({ length: 5 }, (_, n) => ({ type: 'noop', params: { n } })),
    ]);
    const firing = page.locator(`[data-testid="firing-alert"][data-rule-id="${ruleId}"]`);
    await firing.waitFor({ timeout: 20_000 });
    expect(await firing.textContent()).toContain('bulk · all types');
    expect(await firing.getByTestId('firing-value').textContent()).toMatch(/^0\.\d+ > 0\.1$/);
    await page.locator(`[data-testid="alert-event"][data-kind="FIRED"][data-rule-id="${ruleId}"]`).waitFor();
    expect(await page.getByTestId('firing-count').textContent()).toBe('1');
    expect(await wasNotReloaded(page)).toBe(true);
    await browser.screenshot('console-alerts-firing');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-alerts-firing-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Passing tasks bring the rate under 0.09: it resolves, leaves "Firing now", and heads the history.
    await submitTasks(
      stack,
      Array.from({ length: 100 }, (_, n) => ({ type: 'noop', params: { n } })),
    );
    await firing.waitFor({ state: 'detached', timeout: 20_000 });
    const newest = page.getByTestId('alert-event').first();
    expect(await newest.getAttribute('data-kind')).toBe('RESOLVED');
    expect(await newest.getAttribute('data-rule-id')).toBe(ruleId);
    expect(await page.getByTestId('alert-event').count()).toBe(2);
    expect(await wasNotReloaded(page)).toBe(true);

    // A configured rule: mute only (no edit or delete), marked muted until the time chosen.
    const configured = page.locator('[data-testid="alert-rule"][data-rule-id="config:queue_size"]');
    expect(await configured.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    await configured.getByRole('button', { name: 'Mute queue_size for 24 hours' }).click();
    await page
      .locator('[data-testid="alert-rule"][data-rule-id="config:queue_size"][data-muted="true"]')
      .waitFor();
    expect(await configured.getByTestId('rule-state').textContent()).toContain('muted until');
    const muted = await stack.graphql<{ alertRules: { id: string; mutedUntil: string | null }[] }>(
      '{ alertRules { id mutedUntil } }',
    );
    const until = Date.parse(muted.alertRules.find((r) => r.id === 'config:queue_size')!.mutedUntil!);
    expect(until - Date.now()).toBeGreaterThan(23 * 3_600_000);
    await browser.screenshot('console-alerts-muted');
    await configured.getByRole('button', { name: 'Unmute queue_size' }).click();
    await page
      .locator('[data-testid="alert-rule"][data-rule-id="config:queue_size"][data-muted="false"]')
      .waitFor();

    // The API-made rule: edited in the form, then deleted after a confirmation.
    await row.getByRole('button', { name: 'Edit bulk failing' }).click();
    const edit = page.getByRole('form', { name: 'Edit rule bulk failing' });
    expect(await edit.getByLabel('Queue').inputValue()).toBe('bulk');
    await edit.getByLabel('Threshold').fill('0.25');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await row.textContent()).toContain('> 0.25');
    const { alertRules: edited } = await stack.graphql<{
      alertRules: { id: string; threshold: number; queue: string }[];
    }>('{ alertRules { id threshold queue } }');
    expect(edited.find((r) => r.id === ruleId)).toMatchObject({ threshold: 0.25, queue: 'bulk' });
    await row.getByRole('button', { name: 'Delete bulk failing' }).click();
    await row.getByRole('button', { name: 'Confirm delete bulk failing' }).click();
    await row.waitFor({ state: 'detached' });
  });
});
