// Live events and worker control through connection faults: killed Redis connections and a Redis
// restart cost latency, never an event, a cancel or a settings change (ARCHITECTURE.md, invariant
// 9), and a replay of any length keeps the API's memory bounded (invariant 10). A private
// redis-server (AOF on), never the shared one: this file kills connections and restarts Redis.
import { readFileSync } from 'node:fs';
import { createRedis, Keys } from '@taskplane/core';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TEST_TYPES_CONFIG, type TestEngine } from '../helpers/engine';
import { type PrivatePlane, startPrivatePlane } from '../helpers/private-plane';
import type { ApiProcess, RunningProcess } from '../helpers/processes';

const TOKEN = 'tp_events_faults_admin_token_0123456789';
/** The most the API's resident memory may grow while it replays 100,000 events to one subscriber. */
const REPLAY_RSS_BOUND_MB = 64;
const CONFIG = { ...TEST_TYPES_CONFIG, events: { stream_max_len: 500_000 } };

let plane: PrivatePlane;
let admin: ReturnType<typeof createRedis>;
let api: ApiProcess;
let worker: RunningProcess;
let t: TestEngine;
let keys: Keys;

beforeAll(async () => {
  plane = await startPrivatePlane('events-faults', CONFIG, TOKEN);
  ({ api, worker, t } = plane);
  keys = new Keys(plane.prefix);
  admin = createRedis({ url: plane.redis.url, role: 'worker', name: 'tptest-admin' });
});

afterAll(async () => {
  admin?.disconnect();
  await plane?.stop();
});

interface Ev {
  cursor: string;
  kind: string;
  taskId: string;
}

/** Kill the connections whose `CLIENT LIST` name passes `match`, by id; returns how many. */
async function killClients(match: (name: string) => boolean): Promise<number> {
  let killed = 0;
  for (const line of String(await admin.client('LIST')).split('\n')) {
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
    const name = / name=(\S*)/.exec(line)?.[1] ?? '';
    if (id && match(name)) killed += Number(await admin.client('KILL', 'ID', id));
  }
  return killed;
}

/** Every event cursor of the log after `after`, oldest first. */
async function logCursors(after: string): Promise<string[]> {
  const out: string[] = [];
  let start = after === '0' ? '-' : `(${after}`;
  for (;;) {
    const entries = (await admin.xrange(keys.events, start, '+', 'COUNT', 10_000)) as [string, string[]][];
    out.push(...entries.map(([id]) => id));
    if (entries.length < 10_000) return out;
    start = `(${entries.at(-1)![0]}`;
  }
}

async function graphql<T = Record<string, unknown>>(query: string, variables = {}): Promise<T> {
  const response = await fetch(api.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/**
 * A `taskEvents` subscription on one graphql-ws socket that never reconnects: whatever it gets,
 * it got on that socket. `until` resolves when a predicate over everything received holds.
 */
function subscribe(after: string, onEvent?: (received: number) => void) {
  let connections = 0;
  const events: Ev[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  const client: Client = createClient({
    url: api.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${TOKEN}` },
    retryAttempts: 0,
    on: {
      connected: () => {
        connections++;
        for (const wake of waiters) wake();
      },
    },
  });
  client.subscribe<{ taskEvents: Ev }>(
    {
      query: 'subscription ($after: String) { taskEvents(after: $after) { cursor kind taskId } }',
      variables: { after },
    },
    {
      next: ({ data }) => {
        if (data) events.push(data.taskEvents);
        onEvent?.(events.length);
        for (const wake of waiters) wake();
      },
      error: (error) => {
        errors.push(error);
        for (const wake of waiters) wake();
      },
      complete: () => {},
    },
  );
  return {
    events,
    errors,
    connections: () => connections,
    until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${what}: ${events.length} events, errors ${JSON.stringify(errors)}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (errors.length) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
          } else if (done()) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => client.dispose(),
  };
}

/** Submit `total` noop tasks at about `perSecond`, calling `at(submitted)` after each batch. */
async function submitPaced(total: number, perSecond: number, at: (submitted: number) => Promise<void>) {
  const batch = 20;
  const started = Date.now();
  for (let n = 0; n < total; n += batch) {
    // Pacing the load generator, not waiting for an outcome.
    const due = started + (n / perSecond) * 1000;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const outcomes = await t.engine.submitMany(
      Array.from({ length: Math.min(batch, total - n) }, (_, i) => ({ type: 'noop', params: { n: n + i } })),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    await at(n + batch);
  }
}

/** Subscribe after "now", run `load`, and check the subscriber got exactly the log, in order. */
async function everyEventOnce(tasks: number, load: (submitted: number) => Promise<void>): Promise<void> {
  const { eventCursor: start } = await graphql<{ eventCursor: string }>('{ eventCursor }');
  const sub = subscribe(start);
  const succeeded = new Set<string>();
  await sub.until(() => sub.connections() === 1, 10_000, 'the socket');
  await submitPaced(tasks, 200, load);
  await sub.until(
    () => {
      for (const e of sub.events) if (e.kind === 'SUCCEEDED') succeeded.add(e.taskId);
      return succeeded.size >= tasks;
    },
    60_000,
    `the success of ${tasks} tasks`,
  );
  const got = sub.events.map((e) => e.cursor);
  const log = await logCursors(start);
  sub.close();
  expect(sub.errors).toEqual([]);
  expect(sub.connections()).toBe(1);
  expect(new Set(got).size).toBe(got.length);
  expect(got).toEqual(log.slice(0, got.length));
  // Nothing the subscriber did not get happened before its last event.
  expect(log.slice(got.length).every((cursor) => cursor > got.at(-1)!)).toBe(true);
  expect(got.length).toBeGreaterThanOrEqual(tasks * 3);
}

describe('live events through connection faults', () => {
  it('a subscriber gets every event of 2,000 tasks once, in order, while pub/sub and the tail connection are killed', async () => {
    const kills: number[] = [];
    await everyEventOnce(2_000, async (submitted) => {
      if (submitted === 400 || submitted === 1_200)
        kills.push(Number(await admin.client('KILL', 'TYPE', 'pubsub')));
      if (submitted === 800 || submitted === 1_600)
        kills.push(await killClients((n) => n.startsWith('events-tail:')));
    });
    // The API's tail was there to kill, both times.
    expect(kills[1]).toBe(1);
    expect(kills[3]).toBe(1);
  });

  it('a subscriber gets every event once, in order, across a Redis restart under load', async () => {
    await everyEventOnce(1_000, async (submitted) => {
      if (submitted !== 400) return;
      // The same server on the same port with its append-only file.
      await plane.restartRedis();
    });
  });
});

describe('worker control through connection faults', () => {
  it('a cancel and a concurrency change sent right after the worker lost its connections reach it', async () => {
    const { ok, ...rest } = (await t.engine.submitMany([{ type: 'sleep', params: { ms: 60_000 } }]))[0]!;
    expect(ok).toBe(true);
    const taskId = (rest as { task: { id: string } }).task.id;
    await expect
      .poll(
        async () =>
          (
            await graphql<{ task: { status: string } }>('query ($id: ID!) { task(id: $id) { status } }', {
              id: taskId,
            })
          ).task.status,
        { timeout: 20_000, interval: 100 },
      )
      .toBe('RUNNING');
    const { workers } = await graphql<{ workers: { id: string }[] }>('{ workers { id } }');
    const workerId = workers[0]!.id;

    expect(await killClients((n) => n.startsWith(`${workerId}:`))).toBeGreaterThanOrEqual(2);
    await admin.client('KILL', 'TYPE', 'pubsub');
    const cancelled = await graphql<{ cancelTask: { status?: string } }>(
      'mutation ($id: ID!) { cancelTask(id: $id) { ... on Task { status } } }',
      { id: taskId },
    );
    expect(cancelled.cancelTask.status).toBe('CANCELLED');
    await worker.waitForLine(new RegExp(`"taskId":"${taskId}".*cancelled a running task`), 3_000);

    expect(await killClients((n) => n.startsWith(`${workerId}:`))).toBeGreaterThanOrEqual(2);
    await graphql('mutation { setQueueConcurrency(name: "slow", concurrency: 7) { __typename } }');
    await expect
      .poll(
        async () =>
          (
            await graphql<{ workers: { concurrency: { queue: string; concurrency: number }[] }[] }>(
              '{ workers { concurrency { queue concurrency } } }',
            )
          ).workers[0]?.concurrency.find((c) => c.queue === 'slow')?.concurrency,
        { timeout: 5_000, interval: 100 },
      )
      .toBe(7);
  });
});

describe('replay memory', () => {
  it('a subscriber after "0" over a 100,000-event log gets them all in order while the API memory stays bounded', async () => {
    const total = 100_000;
    for (let i = 0; i < total; i += 5_000) {
      const pipeline = admin.pipeline();
      for (let j = i; j < i + 5_000; j++) {
        pipeline.xadd(
          keys.events,
          '*',
          ...['k', 'progress', 'id', `bulk-${j % 100}`, 'q', 'bulk', 't', 'noop', 's', 'running'],
          ...[
            'at',
            String(Date.now()),
            'l',
            '{"e2e":"replay"}',
            'd',
            JSON.stringify({ n: j, pad: 'x'.repeat(200) }),
          ],
        );
      }
      await pipeline.exec();
    }
    const log = await logCursors('0');
    expect(log.length).toBeGreaterThanOrEqual(total);
    const rss = () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))![1]) / 1024;
    const before = rss();
    let peak = before;
    const sub = subscribe('0', (received) => {
      if (received % 2_000 === 0) peak = Math.max(peak, rss());
    });
    await sub.until(() => sub.events.at(-1)?.cursor === log.at(-1), 60_000, 'the whole log');
    peak = Math.max(peak, rss());
    sub.close();
    expect(sub.errors).toEqual([]);
    expect(sub.events.map((e) => e.cursor)).toEqual(log);
    console.log(`API RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most during the replay`);
    expect(peak - before).toBeLessThan(REPLAY_RSS_BOUND_MB);
  });
});
