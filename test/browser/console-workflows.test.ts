// The console's workflow pages against real API and worker processes: a diamond (A -> B, A -> C,
// B+C -> D) drawn as a graph whose nodes turn green live, in dependency order, without a reload;
// a node opens its task, the task links back to its workflow, and the list shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG } from '../helpers/engine';
import { type BrowserStack, markPage, startBrowserStack, wasNotReloaded } from './stack';

interface Change {
  key: string;
  status: string;
}

describe('console workflows', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack('workflows', {}, TEST_TYPES_CONFIG);
    await stack.signIn();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const queues = ['bulk', 'slow'];
  const setQueues = async (mutation: 'pauseQueue' | 'resumeQueue') => {
    for (const name of queues)
      await stack.graphql(`mutation ($name: String!) { ${mutation}(name: $name) { __typename } }`, { name });
  };

  it('draws a diamond and shows its nodes turning green live, D last', async () => {
    const { page, browser } = stack;
    await page.setViewportSize({ width: 1366, height: 768 });

    // Held until the page is watching: nothing runs while the queues are paused.
    await setQueues('pauseQueue');
    const sleep = (ms: number) => ({ type: 'sleep', params: { ms } });
    const submitted = await stack.graphql<{
      submitWorkflow: { id: string; nodes: { key: string; taskId: string }[] };
    }>(
      `mutation ($name: String!, $nodes: [WorkflowNodeInput!]!) {
        submitWorkflow(name: $name, nodes: $nodes) { ... on Workflow { id nodes { key taskId } } }
      }`,
      {
        name: 'diamond',
        // Each step takes long enough that one green cannot share an animation frame with the next.
        nodes: [
          { key: 'A', task: { type: 'noop', params: { n: 1 } } },
          { key: 'B', task: sleep(300), dependsOn: ['A'] },
          { key: 'C', task: sleep(150), dependsOn: ['A'] },
          { key: 'D', task: sleep(150), dependsOn: ['B', 'C'] },
        ],
      },
    );
    const { id, nodes } = submitted.submitWorkflow;
    const taskIds = new Map(nodes.map((n) => [n.key, n.taskId]));

    // The list, from the nav.
    await page.getByRole('link', { name: 'Workflows', exact: true }).click();
    const row = page.locator(`[data-testid="workflow-row"][data-workflow-id="${id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('PENDING');
    await row.getByRole('link', { name: 'diamond' }).click();
    await page.waitForURL(`**/workflows/${id}`);

    // Four nodes, four edges drawn between them, everything grey.
    const node = (key: string) => page.locator(`[data-testid="workflow-node"][data-key="${key}"]`);
    await node('D').waitFor();
    expect(await page.getByTestId('workflow-node').count()).toBe(4);
    const edges = await page.getByTestId('workflow-edge').evaluateAll((paths) =>
      paths.map((p) => ({
        edge: `${p.getAttribute('data-from')}>${p.getAttribute('data-to')}`,
        length: (p as SVGPathElement).getTotalLength(),
      })),
    );
    expect(edges.map((e) => e.edge).sort()).toEqual(['A>B', 'A>C', 'B>D', 'C>D']);
    expect(edges.every((e) => e.length > 10)).toBe(true);
    for (const key of ['A', 'B', 'C', 'D'])
      expect(await node(key).getAttribute('data-tone'), key).toBe('neutral');
    // Dependencies are drawn above their dependents.
    const top = async (key: string) => (await node(key).boundingBox())!.y;
    expect(await top('A')).toBeLessThan(await top('B'));
    expect(await top('B')).toBeLessThan(await top('D'));
    expect(await top('C')).toBeLessThan(await top('D'));

    // Every status the page shows, in the order it shows them.
    await page.evaluate(() => {
      const changes: Change[] = [];
      (window as unknown as { changes: Change[] }).changes = changes;
      new MutationObserver((records) => {
        for (const record of records) {
          const el = record.target as Element;
          changes.push({ key: el.getAttribute('data-key')!, status: el.getAttribute('data-status')! });
        }
      }).observe(document.querySelector('[data-testid="workflow-graph"]')!, {
        subtree: true,
        attributeFilter: ['data-status'],
      });
    });
    await markPage(page);
    const started = Date.now();
    await setQueues('resumeQueue');

    await page.locator('[data-testid="workflow-node"][data-key="D"][data-status="SUCCESS"]').waitFor({
      timeout: 15_000,
    });
    const elapsed = Date.now() - started;
    await page.getByTestId('workflow-status').getByText('Succeeded').waitFor();
    expect(await wasNotReloaded(page)).toBe(true);
    for (const key of ['A', 'B', 'C', 'D']) expect(await node(key).getAttribute('data-tone'), key).toBe('ok');

    const changes = await page.evaluate(() => (window as unknown as { changes: Change[] }).changes);
    const green = changes.filter((c) => c.status === 'SUCCESS').map((c) => c.key);
    expect(green[0]).toBe('A');
    expect(green.slice(1, 3).sort()).toEqual(['B', 'C']);
    expect(green).toEqual([green[0], ...green.slice(1, 3), 'D']);
    // D was not shown running before both of its dependencies were shown green.
    const at = (key: string, status: string) =>
      changes.findIndex((c) => c.key === key && c.status === status);
    const dRunning = at('D', 'RUNNING');
    if (dRunning >= 0) expect(dRunning).toBeGreaterThan(Math.max(at('B', 'SUCCESS'), at('C', 'SUCCESS')));
    console.log(
      `diamond green in ${elapsed} ms; shown: ${changes.map((c) => `${c.key}=${c.status}`).join(' ')}`,
    );

    await page.evaluate(() => window.scrollTo(0, 0));
    await browser.screenshot('console-workflow');
    await page.emulateMedia({ colorScheme: 'dark' });
    await browser.screenshot('console-workflow-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // A node opens its task; the task links back to its workflow, by name.
    await node('B').click();
    await page.waitForURL(`**/tasks/${taskIds.get('B')}`);
    const back = page.getByTestId('task-workflow');
    await back.getByText('diamond').waitFor();
    await back.click();
    await page.waitForURL(`**/workflows/${id}`);
    await node('A').waitFor();
    expect(browser.pageErrors).toEqual([]);
  });
});
