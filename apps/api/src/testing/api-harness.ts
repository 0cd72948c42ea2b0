import { randomBytes } from 'node:crypto';
import {
  checkRedisServer,
  createLogger,
  createRedis,
  createRegistry,
  Keys,
  loadConfig,
  type Runtime,
} from '@taskplane/core';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createApiServer } from '../server';
import { startServices } from '../services';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'tp_test_admin_token_0123456789';

export interface TestApi {
  url: string;
  prefix: string;
  runtime: Runtime;
  services: Awaited<ReturnType<typeof startServices>>;
  metrics: ReturnType<typeof createApiServer>['metrics'];
  /** POST a GraphQL operation with the admin token (or `token`). */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<{ data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  ws(token?: string): Client;
  close(): Promise<void>;
}

/** The API in this process on a free port, with its own key prefix, for tests over real HTTP and WebSocket. */
export async function startTestApi(overrides: Record<string, unknown> = {}): Promise<TestApi> {
  const prefix = `tptest-api-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    overrides: { ...overrides, redis: { prefix }, auth: { bootstrap_token: ADMIN_TOKEN } },
  });
  const redis = createRedis({ url: REDIS_URL, role: 'producer' });
  const logger = createLogger('api-test', 'silent');
  const runtime: Runtime = {
    config,
    logger,
    keys: new Keys(prefix),
    registry: createRegistry(config),
    redisUrl: REDIS_URL,
    redis,
    server: await checkRedisServer(redis, REDIS_URL),
    onShutdown: () => {},
  };
  const services = await startServices(runtime, ADMIN_TOKEN);
  const server = createApiServer(services, logger);
  const url = await server.listen(0, '127.0.0.1');
  const clients: Client[] = [];
  return {
    url,
    prefix,
    runtime,
    services,
    metrics: server.metrics,
    async graphql(query, variables = {}, token = ADMIN_TOKEN) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as never;
    },
    ws(token = ADMIN_TOKEN) {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await server.close();
      await services.stop();
      for (const name of services.engine.queueNames()) {
        await services.engine
          .queue(name)
          .obliterate({ force: true })
          .catch(() => {});
      }
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** Collects what a subscription pushes until `count` items arrived. */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  count: number,
): { done: Promise<T[]>; items: T[]; ready: Promise<void> } {
  const items: T[] = [];
  let settle!: (value: T[]) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<T[]>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let started!: () => void;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        started();
        if (value.errors) {
          fail(new Error(value.errors.map((e) => e.message).join('; ')));
          return;
        }
        items.push(value.data as T);
        if (items.length >= count) {
          unsubscribe();
          settle(items);
        }
      },
      // graphql-ws reports refused operations as a list of GraphQL errors, not an Error.
      error: (error) =>
        fail(
          Array.isArray(error)
            ? new Error(error.map((e: { message: string }) => e.message).join('; '))
            : error,
        ),
      complete: () => settle(items),
    },
  );
  client.on('connected', () => started());
  return { done, items, ready };
}
