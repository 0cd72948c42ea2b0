// TODO: the in-test API below stands in for apps/api, which does not exist yet. Once it does, start
// the real API process here instead (with the console's origin in api.allowed_origins) and drop it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { type BrowserSession, launchBrowser } from '../helpers/browser';
import { startConsole } from '../helpers/console';

const HEALTH = { status: 'ok', redisVersion: '7.2.4', workers: 3 };

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Health {
      status: String!
      redisVersion: String!
      workers: Int!
    }
    type Query {
      health: Health!
    }
  `,
  resolvers: { Query: { health: () => HEALTH } },
});

/** Serves `schema` over HTTP (yoga, CORS open) and WebSocket (graphql-ws) on one port, like apps/api. */
async function startFakeApi(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const yoga = createYoga({ schema, logging: false });
  const server = createServer(yoga);
  const sockets = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  useServer({ schema }, sockets);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${yoga.graphqlEndpoint}`,
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port that nothing listens on (until a test starts something there). */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('console overview', () => {
  let session: BrowserSession;

  beforeAll(async () => {
    session = await launchBrowser();
  });

  afterAll(async () => {
    await session?.close();
  });

  async function openConsole(apiUrl: string) {
    const server = await startConsole({ apiUrl });
    onTestFinished(() => server.close());
    await session.page.goto(server.url);
  }

  it('shows the health the API reports', async () => {
    const api = await startFakeApi();
    onTestFinished(() => api.close());
    const { page } = session;

    await openConsole(api.url);

    expect(await page.getByTestId('health-status').textContent()).toBe(HEALTH.status);
    expect(await page.getByTestId('health-redis-version').textContent()).toBe(HEALTH.redisVersion);
    expect(await page.getByTestId('health-workers').textContent()).toBe(String(HEALTH.workers));
    await page.getByRole('status').getByText('Connected').waitFor();
    expect(session.pageErrors).toEqual([]);
    await session.screenshot('console-overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    await session.screenshot('console-overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('says the API is unreachable, then recovers when it comes up', async () => {
    const port = await freePort();
    const { page } = session;

    await openConsole(`http://127.0.0.1:${port}/graphql`);

    const alert = page.getByRole('alert');
    expect(await alert.getByRole('heading').textContent()).toBe('Cannot reach the Taskplane API');
    expect(await alert.textContent()).toContain(`127.0.0.1:${port}/graphql`);
    await page.getByRole('status').getByText('Disconnected').waitFor();
    await session.screenshot('console-api-down');

    const api = await startFakeApi(port);
    onTestFinished(() => api.close());
    expect(await page.getByTestId('health-status').textContent()).toBe(HEALTH.status);
    expect(await alert.count()).toBe(0);
  });
});
