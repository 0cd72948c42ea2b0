import { spawnRedisServer, TERMINAL_EVENT_KINDS } from '@taskplane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG, type TestEngine } from '../helpers/engine';
import { type PrivatePlane, startPrivatePlane } from '../helpers/private-plane';
import type { ApiProcess } from '../helpers/processes';

// Redis going away under a running control plane: clear errors while it is gone, and every task
// finished exactly once when it is back. A private redis-server (AOF on), never the shared one.

const TOKEN = 'tp_outage_admin_token_0123456789';
let plane: PrivatePlane;
let api: ApiProcess;
let t: TestEngine;

afterAll(async () => {
  await plane?.stop();
});

async function graphql(query: string): Promise<{
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}> {
  const response = await fetch(api.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

describe('Redis going away', () => {
  it('answers UNAVAILABLE while Redis is down, then recovers and loses no task', async () => {
    plane = await startPrivatePlane('outage', TEST_TYPES_CONFIG, TOKEN);
    ({ api, t } = plane);
    const outcomes = await t.engine.submitMany(
      Array.from({ length: 20 }, () => ({ type: 'sleep', params: { ms: 200 } })),
    );
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));

    await plane.redis.stop();
    const down = await graphql('{ task(id: "x") { id } }');
    expect(down.status).toBe(503);
    expect(down.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(down.body.errors?.[0]?.message).toMatch(/Redis is not reachable/);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reasons: ['Redis is not reachable'] });

    // The same server comes back on the same port with its append-only file.
    plane.redis = await spawnRedisServer({ dir: plane.dir, port: plane.redis.port });
    await expect
      .poll(async () => (await graphql('{ health { status } }')).status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    const events = await t.waitFor(
      (all) => ids.every((id) => all.some((e) => e.taskId === id && e.kind === 'succeeded')),
      60_000,
      'every task to finish after the outage',
    );
    const terminal = events.filter((e) => TERMINAL_EVENT_KINDS.has(e.kind) && ids.includes(e.taskId));
    expect(terminal).toHaveLength(ids.length);
    expect(new Set(terminal.map((e) => e.taskId)).size).toBe(ids.length);
    expect(await t.engine.store.count({ status: ['success'], type: ['sleep'] })).toEqual({
      count: ids.length,
      exact: true,
    });
    expect(api.output()).not.toMatch(/"level":50.*unexpected error/);
  });
});
