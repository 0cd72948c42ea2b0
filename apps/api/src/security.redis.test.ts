import { beat, PresenceKind, presenceBase } from '@taskplane/queue';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

const INTROSPECTION = '{ __schema { queryType { name } } }';

async function post(query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { data?: unknown; errors?: { message: string }[] },
  };
}

/** Opens a WebSocket to /graphql with an Origin header; resolves with the upgrade's outcome. */
function upgrade(origin: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${api.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', {
      headers: { origin },
    });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.on('error', () => {});
  });
}

describe('production mode', () => {
  it('refuses introspection, serves no GraphiQL and suggests no field names', async () => {
    api = await startTestApi({ mode: 'production' });
    const introspection = await post(INTROSPECTION);
    expect(introspection.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await post('{ helth { status } }');
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    const page = await fetch(`${api.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  it('development mode answers introspection and serves GraphiQL', async () => {
    api = await startTestApi();
    expect((await post(INTROSPECTION)).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await post('{ helth { status } }')).body.errors?.[0]?.message).toMatch(/Did you mean "health"/);
    const page = await fetch(`${api.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).toMatch(/graphiql/i);
  });
});

describe('browser protections', () => {
  it('lets WebSocket upgrades and CORS through only from allowed origins', async () => {
    api = await startTestApi({ api: { allowed_origins: ['http://console.example'] } });
    expect(await upgrade('http://evil.example')).toBe(403);
    expect(await upgrade('http://console.example')).toBe('open');
    const preflight = (origin: string) =>
      fetch(`${api.url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    expect((await preflight('http://console.example')).headers.get('access-control-allow-origin')).toBe(
      'http://console.example',
    );
    expect((await preflight('http://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a simple cross-site GET without a preflight-forcing header (CSRF)', async () => {
    api = await startTestApi();
    const query = encodeURIComponent('{ health { status } }');
    const bare = await fetch(`${api.url}/graphql?query=${query}`);
    expect(bare.status).toBe(403);
    const marked = await fetch(`${api.url}/graphql?query=${query}`, { headers: { 'x-taskplane-csrf': '1' } });
    expect(marked.status).toBe(200);
  });
});

describe('health and metrics', () => {
  it('/healthz answers while /readyz waits for a worker', async () => {
    api = await startTestApi();
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${api.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, reasons: ['no worker process is online'] });
    const { services } = api;
    await beat(
      services.redis,
      services.keys,
      {
        ...presenceBase('w-test', ['products']),
        concurrency: {},
        runningTasks: [],
        memoryRss: 0,
        lastSeenAt: Date.now(),
      },
      5000,
      PresenceKind.Online,
    );
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, workers: 1 });
  });

  it('/metrics counts requests and errors for Prometheus', async () => {
    api = await startTestApi();
    await post('{ health { status } }');
    await post('{ task(id: "x") { id } }', { authorization: 'Bearer nope' });
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/taskplane_api_requests_total\{transport="http",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/taskplane_api_errors_total\{code="UNAUTHENTICATED"\} 1/);
    expect(text).toContain('taskplane_api_active_subscriptions');
    expect(text).toContain('taskplane_api_events_delivered');
  });
});
