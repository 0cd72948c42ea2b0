// Shared by the api-*.test.ts files and cli.test.ts: real API and worker processes on one unique
// prefix, a catalogue server for the handlers, typed clients, and helpers that wait on events.
// The client is imported by path: the test package does not list @taskplane/client (yet).
import { randomUUID } from 'node:crypto';
import { createRedis } from '@taskplane/core';
import { type Catalogue, startCatalogue } from '@taskplane/test/catalogue';
import { afterEach } from 'vitest';
import {
  createClient,
  type LabelInput,
  type TaskFieldsFragment,
  type TaskplaneClient,
  type TaskStatus,
  unwrap,
} from '../../packages/client/src/index';
import {
  type ApiProcess,
  type ChildEnv,
  cleanupPrefix,
  type RunningProcess,
  sharedRedisUrl,
  startApp,
  uniquePrefix,
} from '../helpers';

/** Fixed bootstrap admin token (`auth.bootstrap_token`), so tests need not read it from the log. */
export const ADMIN_TOKEN = 'tp_e2e_bootstrap_admin_token_0123456789';
export const FINISHED: readonly TaskStatus[] = ['SUCCESS', 'CANCELLED', 'DEAD_LETTERED', 'FAILED'];

export interface StackOptions {
  /** API processes to start (all on the same prefix). Default 1. */
  apis?: number;
  /** Worker processes to start. Default 1. */
  workers?: number;
  /** Merged over the config defaults for every process. */
  config?: Record<string, unknown>;
}

export interface Stack {
  prefix: string;
  catalogue: Catalogue;
  apis: ApiProcess[];
  workers: RunningProcess[];
  /** A client of the first API with the bootstrap admin token. */
  admin: TaskplaneClient;
  /** A client of `api` (default the first) with `token` (default admin; null for none); closed by `stop`. */
  client(token?: string | null, api?: ApiProcess): TaskplaneClient;
  /** A new token with `role`, created through the API. */
  token(role: 'VIEWER' | 'OPERATOR' | 'ADMIN'): Promise<string>;
  startApi(env?: ChildEnv): Promise<ApiProcess>;
  startWorker(): Promise<RunningProcess>;
  stop(): Promise<void>;
}

/** The processes of every stack still up: their output is printed when a test fails. */
const running = new Set<RunningProcess[]>();
afterEach(({ task }) => {
  if (task.result?.state !== 'fail') return;
  for (const p of [...running].flat())
    console.log(`--- ${p.name} (pid ${p.pid}) ---\n${p.lines.slice(-40).join('\n')}`);
});

/** Starts a catalogue, APIs and workers on a fresh prefix; `stop()` ends them and deletes its keys. */
export async function startStack(name: string, options: StackOptions = {}): Promise<Stack> {
  const prefix = uniquePrefix(name);
  const catalogue = await startCatalogue();
  const processes: RunningProcess[] = [];
  const clients: TaskplaneClient[] = [];
  const common = {
    prefix,
    ...(options.config ? { configOverrides: options.config } : {}),
  };
  const env: ChildEnv = {
    TASKPLANE_AUTH__BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    TASKPLANE_CATALOGUE__BASE_URL: catalogue.url,
  };
  const track = <P extends RunningProcess>(process: P): P => {
    processes.push(process);
    return process;
  };
  const stack: Stack = {
    prefix,
    catalogue,
    apis: [],
    workers: [],
    admin: undefined as unknown as TaskplaneClient,
    client(token = ADMIN_TOKEN, api = stack.apis[0]!) {
      const client = createClient({ url: api.graphqlUrl, ...(token ? { token } : {}) });
      clients.push(client);
      return client;
    },
    async token(role) {
      const created = unwrap(
        await stack.admin.createApiToken(`e2e-${role.toLowerCase()}`, role),
        'CreatedApiToken',
      );
      return created.secret;
    },
    async startApi(extra = {}) {
      const api = track(await startApp('api', { ...common, env: { ...env, ...extra } }));
      stack.apis.push(api);
      return api;
    },
    async startWorker() {
      const worker = track(await startApp('worker', { ...common, env }));
      await worker.waitForLine(/worker ready/);
      stack.workers.push(worker);
      return worker;
    },
    async stop() {
      running.delete(processes);
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(processes.map((p) => p.stop()));
      await catalogue.close();
      const redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
      await cleanupPrefix(redis, prefix);
      redis.disconnect();
    },
  };
  running.add(processes);
  await Promise.all([
    ...Array.from({ length: options.apis ?? 1 }, () => stack.startApi()),
    ...Array.from({ length: options.workers ?? 1 }, () => stack.startWorker()),
  ]);
  stack.admin = stack.client();
  return stack;
}

/** A label no other test uses, to keep a test's tasks apart in a shared stack. */
export function testLabel(): LabelInput {
  return { key: 'e2e', value: randomUUID() };
}

/** A single_product task input fetching product `id` (`?latency=MS` keeps it running that long). */
export function product(
  catalogue: Catalogue,
  label: LabelInput,
  id = 'p1',
  extra: Record<string, unknown> = {},
) {
  return {
    type: 'single_product',
    params: { url: `${catalogue.url}/products/${id}` },
    labels: [label],
    ...extra,
  };
}

/** Submits a task and returns it, failing the test on an error result. */
export async function submit(client: TaskplaneClient, input: Parameters<TaskplaneClient['submitTask']>[0]) {
  return unwrap(await client.submitTask(input), 'SubmitTaskPayload').task;
}

/**
 * Takes values from `iterator` until `done(value, taken)` says so, and returns every value taken;
 * fails after `timeoutMs` with what it saw.
 */
export async function takeUntil<T>(
  iterator: AsyncIterator<T>,
  done: (value: T, taken: T[]) => boolean,
  timeoutMs = 30_000,
): Promise<T[]> {
  const taken: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`not done within ${timeoutMs} ms; saw ${JSON.stringify(taken).slice(0, 2000)}`)),
      timeoutMs,
    );
  });
  try {
    for (;;) {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done) throw new Error(`the stream ended; saw ${JSON.stringify(taken).slice(0, 2000)}`);
      taken.push(result.value);
      if (done(result.value, taken)) return taken;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Watches a task (the `task` subscription) until its status is one of `statuses`; returns it. */
export async function waitForStatus(
  client: TaskplaneClient,
  id: string,
  statuses: readonly TaskStatus[] = FINISHED,
): Promise<TaskFieldsFragment> {
  const updates = client.watchTask(id);
  try {
    const seen = await takeUntil(updates, (u) => statuses.includes(u.task.status));
    return seen.at(-1)!.task;
  } finally {
    updates.close();
  }
}

/** Whether `promise` rejects; returns the error (for `toMatchObject`). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
