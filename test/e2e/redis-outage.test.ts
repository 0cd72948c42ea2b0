import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedRedis, spawnRedisServer, TERMINAL_EVENT_KINDS } from '@taskplane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG, type TestEngine, testEngine } from '../helpers/engine';
import { type ApiProcess, type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';

// Redis going away under a running control plane: clear errors while it is gone, and every task
// finished exactly once when it is back. A private redis-server (AOF on), never the shared one.

const TOKEN = 'tp_outage_admin_token_0123456789';
const dir = mkdtempSync(join(tmpdir(), 'tptest-outage-'));
let redis: SpawnedRedis;
let api: ApiProcess;
let worker: RunningProcess;
let t: TestEngine;

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await t?.close().catch(() => {});
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
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
    redis = await spawnRedisServer({ dir });
    const prefix = uniquePrefix('outage');
    const options = {
      prefix,
      redisUrl: redis.url,
      configOverrides: TEST_TYPES_CONFIG,
      env: { REDIS_URL: redis.url, TASKPLANE_AUTH__BOOTSTRAP_TOKEN: TOKEN },
    };
    [api, worker] = await Promise.all([startApp('api', options), startApp('worker', options)]);
    await worker.waitForLine(/worker ready/, 20_000);
    t = testEngine(prefix, TEST_TYPES_CONFIG, redis.url);
    const outcomes = await t.engine.submitMany(
      Array.from({ length: 20 }, () => ({ type: 'sleep', params: { ms: 200 } })),
    );
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));

    await redis.stop();
    const down = await graphql('{ task(id: "x") { id } }');
    expect(down.status).toBe(503);
    expect(down.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(down.body.errors?.[0]?.message).toMatch(/Redis is not reachable/);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ reasons: ['Redis is not reachable'] });

    // The same server comes back on the same port with its append-only file.
    redis = await spawnRedisServer({ dir, port: redis.port });
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
