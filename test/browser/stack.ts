// What every browser test file starts once in beforeAll: a catalogue for the handlers, real API and
// worker processes on a fresh prefix, the built console (allowed by the API as an origin), and
// Chromium. `stop()` ends them all and deletes the prefix's keys.
import { createRedis, freePort } from '@taskplane/core';
import { type Catalogue, startCatalogue } from '@taskplane/test/catalogue';
import type { Page } from 'playwright-core';
import { afterEach } from 'vitest';
import {
  type ApiProcess,
  type BrowserSession,
  type ChildEnv,
  type ConsoleServer,
  cleanupPrefix,
  launchBrowser,
  type RunningProcess,
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

/** `env` goes to every API and worker process, over the stack's own settings. */
export async function startBrowserStack(name: string, extraEnv: ChildEnv = {}): Promise<BrowserStack> {
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
    const api = await startApp('api', { prefix, env: { ...env, ...extra } });
    processes.push(api);
    return api;
  };
  const [api, worker] = await Promise.all([startApi(), startApp('worker', { prefix, env })]);
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
    async signIn(token = ADMIN_TOKEN, path = '/') {
      const { page } = browser;
      await page.goto(`${consoleServer.url}${path}`);
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
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
  const data = await stack.graphql<{ submitTasks: { results: { task?: { id: string } }[] } }>(
    `mutation ($inputs: [SubmitTaskInput!]!) {
      submitTasks(inputs: $inputs) { ... on SubmitTasksPayload { results { ... on SubmitTaskPayload { task { id } } } } }
    }`,
    { inputs: urls.map((url) => ({ type: 'single_product', params: { url } })) },
    { api },
  );
  return data.submitTasks.results.map((result) => result.task!.id);
}
