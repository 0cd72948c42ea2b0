// What every browser test file starts once in beforeAll: a catalogue for the handlers, real API and
// worker processes on a fresh prefix, the built console (allowed by the API as an origin), and
// Chromium. `stop()` ends them all and deletes the prefix's keys.
import { createRedis, freePort } from '@taskplane/core';
import { type Catalogue, startCatalogue } from '@taskplane/test/catalogue';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach } from 'vitest';
import {
  type ApiProcess,
  type BrowserSession,
  type ChildEnv,
  type ConsoleServer,
  cleanupPrefix,
  launchBrowser,
  type RunningProcess,
  SCREENSHOT_DIR,
  sharedRedisUrl,
  startApp,
  startConsole,
  uniquePrefix,
} from '../helpers';

/** The bootstrap admin token (`auth.bootstrap_token`, 24+ characters). */
export const ADMIN_TOKEN = 'tp_browser_bootstrap_admin_token_0123456789';
export type Role = 'VIEWER' | 'OPERATOR' | 'ADMIN';

export interface BrowserStack {
  prefix: string;
  catalogue: Catalogue;
  api: ApiProcess;
  worker: RunningProcess;
  console: ConsoleServer;
  browser: BrowserSession;
  page: Page;
  /** POSTs a GraphQL operation to `api` (default the stack's) with `token` (default admin). */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; api?: ApiProcess },
  ): Promise<T>;
  /** One field of a task, read through `api` (default the stack's), e.g. `status` or `attemptsMade`. */
  taskField<T>(id: string, field: string, api?: ApiProcess): Promise<T>;
  /** A new API token with `role`. */
  token(role: Role): Promise<string>;
  /** A catalogue product URL; `latencyMs` makes the catalogue answer slowly. */
  productUrl(n: number | string, latencyMs?: number): string;
  /** Opens the console on `path` and signs in with `token` (default admin). */
  signIn(token?: string, path?: string): Promise<void>;
  /**
   * Another operator: a page in a fresh browser context (no shared storage), at 1366x768, signed in
   * with `token` on `path`. Its uncaught errors land in `pageErrors` too; `stop()` closes it.
   */
  otherOperator(token: string, path?: string): Promise<{ context: BrowserContext; page: Page }>;
  /** Starts another API process on the prefix (the stack stops it too); `TASKPLANE_API__PORT` picks its port. */
  startApi(env?: ChildEnv): Promise<ApiProcess>;
  stop(): Promise<void>;
}

/** Settings every process gets: quick stats pushes for the overview, a short heartbeat for workers. */
const FAST = { TASKPLANE_MONITORING__STATS_INTERVAL: '1s', TASKPLANE_WORKERS__HEARTBEAT_INTERVAL: '1s' };

/** The processes of every stack still up: their output is printed when a test fails. */
const running = new Set<RunningProcess[]>();
afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  for (const p of [...running].flat())
    console.log(`--- ${p.name} (pid ${p.pid}) ---\n${p.lines.slice(-30).join('\n')}`);
});

/**
 * `env` goes to every API and worker process, over the stack's own settings; so do `configOverrides`
 * (merged over the defaults through a config file, e.g. extra task types and the worker's queues).
 */
export async function startBrowserStack(
  name: string,
  extraEnv: ChildEnv = {},
  configOverrides?: Record<string, unknown>,
): Promise<BrowserStack> {
  const prefix = uniquePrefix(`browser-${name}`);
  const catalogue = await startCatalogue();
  const consolePort = await freePort();
  const env: ChildEnv = {
    ...FAST,
    TASKPLANE_AUTH__BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    TASKPLANE_CATALOGUE__BASE_URL: catalogue.url,
    TASKPLANE_API__ALLOWED_ORIGINS: JSON.stringify([`http://127.0.0.1:${consolePort}`]),
    ...extraEnv,
  };
  const processes: RunningProcess[] = [];
  running.add(processes);
  const startApi = async (extra: ChildEnv = {}) => {
    const api = await startApp('api', { prefix, configOverrides, env: { ...env, ...extra } });
    processes.push(api);
    return api;
  };
  const [api, worker] = await Promise.all([startApi(), startApp('worker', { prefix, configOverrides, env })]);
  processes.push(worker);
  const [consoleServer, browser] = await Promise.all([
    startConsole({ apiUrl: api.graphqlUrl, port: consolePort }),
    launchBrowser(),
    worker.waitForLine(/worker ready/),
  ]);

  async function graphql<T>(
    query: string,
    variables: Record<string, unknown> = {},
    options: { token?: string; api?: ApiProcess } = {},
  ): Promise<T> {
    const response = await fetch((options.api ?? api).graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (!body.data) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  return {
    prefix,
    catalogue,
    api,
    worker,
    console: consoleServer,
    browser,
    page: browser.page,
    graphql,
    startApi,
    async taskField<T>(id: string, field: string, other?: ApiProcess) {
      const data = await graphql<{ task: Record<string, T> }>(
        `query ($id: ID!) { task(id: $id) { ${field} } }`,
        { id },
        { api: other },
      );
      return data.task[field]!;
    },
    async token(role) {
      const data = await graphql<{ createApiToken: { secret: string } }>(
        `mutation ($name: String!, $role: Role!) {
          createApiToken(name: $name, role: $role) { ... on CreatedApiToken { secret } }
        }`,
        { name: `browser-${role.toLowerCase()}`, role },
      );
      return data.createApiToken.secret;
    },
    productUrl: (n, latencyMs) =>
      `${catalogue.url}/products/p${n}${latencyMs ? `?latency=${latencyMs}` : ''}`,
    signIn: (token = ADMIN_TOKEN, path = '/') => signInOn(browser.page, `${consoleServer.url}${path}`, token),
    async otherOperator(token, path = '/') {
      const context = await browser.browser.newContext({ viewport: { width: 1366, height: 768 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => browser.pageErrors.push(error));
      await signInOn(page, `${consoleServer.url}${path}`, token);
      return { context, page };
    },
    async stop() {
      await browser.close();
      await consoleServer.close();
      await Promise.all(processes.map((p) => p.stop()));
      running.delete(processes);
      await catalogue.close();
      const redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Submits one `single_product` task for `url` and returns its id. */
export async function submitProduct(stack: BrowserStack, url: string, api?: ApiProcess): Promise<string> {
  const [id] = await submitProducts(stack, [url], api);
  return id!;
}

/** Submits `single_product` tasks for `urls` through `stack`'s API (or `api`) and returns their ids. */
export async function submitProducts(
  stack: BrowserStack,
  urls: string[],
  api?: ApiProcess,
): Promise<string[]> {
  return submitTasks(
    stack,
    urls.map((url) => ({ type: 'single_product', params: { url } })),
    api,
  );
}

/** Submits tasks (`SubmitTaskInput`s) in one `submitTasks` call and returns their ids. */
export async function submitTasks(
  stack: BrowserStack,
  inputs: Record<string, unknown>[],
  api?: ApiProcess,
): Promise<string[]> {
  const data = await stack.graphql<{ submitTasks: { results: { task?: { id: string } }[] } }>(
    `mutation ($inputs: [SubmitTaskInput!]!) {
      submitTasks(inputs: $inputs) { ... on SubmitTasksPayload { results { ... on SubmitTaskPayload { task { id } } } } }
    }`,
    { inputs },
    { api },
  );
  return data.submitTasks.results.map((result) => result.task!.id);
}

/** Opens `url` in `page` and signs in with `token` (default admin). */
export async function signInOn(page: Page, url: string, token = ADMIN_TOKEN): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Marks the page so a test can tell that later steps happened without a reload. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
}

/** Whether `page` still holds the mark `markPage` set: it was not reloaded or navigated away by force. */
export async function wasNotReloaded(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}

/** Saves a full-page PNG of `page` (one other than the stack's) as `test-artifacts/screenshots/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}

/** Waits until the Tasks page's stream has its start cursor: every event from then on will show. */
export async function streamFollowing(page: Page): Promise<void> {
  await page.locator('[data-testid="stream-counts"][data-following="true"]').waitFor();
}
