import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, collect, startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

const SUBMIT = `mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/products/p1" } }) { ... on SubmitTaskPayload { task { id } } } }`;

describe('subscriptions over server-sent events', () => {
  it('streams task events to a plain HTTP client', async () => {
    api = await startTestApi();
    const query = 'subscription { taskEvents { kind taskId } }';
    const response = await fetch(`${api.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    // The stream is open once its first chunk (a keep-alive) arrives; then an event is produced.
    await reader.read();
    const submitted = await api.graphql<{ submitTask: { task: { id: string } } }>(SUBMIT);
    const id = submitted.data!.submitTask.task.id;
    let text = '';
    while (!text.includes('"taskId"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const data = JSON.parse(/data: (.*)/.exec(text.slice(text.indexOf('event: next')))![1]!);
    expect(data).toEqual({ data: { taskEvents: { kind: 'SUBMITTED', taskId: id } } });
  });

  it('refuses a subscription without a token', async () => {
    api = await startTestApi();
    const response = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { taskEvents { kind } }' }),
    });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('UNAUTHENTICATED')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('UNAUTHENTICATED');
  });
});

describe('persisted operations', () => {
  function operationsFile(ops: Record<string, string>): string {
    const file = join(mkdtempSync(join(tmpdir(), 'tp-ops-')), 'operations.json');
    writeFileSync(file, JSON.stringify(ops));
    return file;
  }
  const persisted = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });

  it('run by id, and with persisted_only nothing else runs, over HTTP and WebSocket', async () => {
    const file = operationsFile({
      health: 'query { health { status } }',
      events: 'subscription { taskEvents { kind } }',
    });
    api = await startTestApi({ api: { persisted_operations: file, persisted_only: true } });
    const post = (body: unknown) =>
      fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ data?: unknown; errors?: { message: string }[] }>);

    expect(await post(persisted('health'))).toEqual({ data: { health: { status: 'degraded' } } });
    const refused = await post({ query: 'query { health { status } }' });
    expect(refused.errors?.[0]?.message).toMatch(/PersistedQueryOnly/);
    const unknown = await post(persisted('nope'));
    expect(unknown.errors?.[0]?.message).toMatch(/PersistedQueryNotFound/);

    const client = api.ws();
    const viaHash = new Promise<unknown>((resolve, reject) => {
      client.subscribe(
        { query: '', ...persisted('events') },
        { next: resolve, error: reject, complete: () => {} },
      );
    });
    const arbitrary = collect(client, 'subscription { taskEvents { kind taskId } }', {}, 1);
    await expect(arbitrary.done).rejects.toThrow(/PersistedQueryOnly/);
    await api.graphql(SUBMIT).catch(() => {});
    // The allow-list also stops the mutation above (not persisted), so submit through the engine.
    await api.services.engine.submit({ type: 'single_product', params: { url: 'http://127.0.0.1:9/p1' } });
    expect(await viaHash).toEqual({ data: { taskEvents: { kind: 'SUBMITTED' } } });
  });
});

describe('per-token rate limit', () => {
  it('answers 429 RATE_LIMITED past the limit, for that token only', async () => {
    api = await startTestApi({ api: { rate_limit_per_minute: 5 } });
    const created = await api.graphql<{ createApiToken: { secret: string } }>(
      `mutation { createApiToken(name: "bot", role: VIEWER) { ... on CreatedApiToken { secret } } }`,
    );
    const bot = created.data!.createApiToken.secret;
    const ask = (token: string) =>
      fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { name } }' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask(bot)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = (await (await ask(bot)).json()) as { errors: { extensions: { code: string } }[] };
    expect(refused.errors[0]!.extensions.code).toBe('RATE_LIMITED');
    // The admin token has its own budget (it used one request above).
    expect((await ask(ADMIN_TOKEN)).status).toBe(200);
  });
});
