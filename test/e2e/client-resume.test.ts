// The one resume implementation of every client (`followCursor` in @taskplane/client: the console's
// live stores call it directly, the CLI and bots through `watchTaskEvents`/`watchWorkflow`) against
// the real API over a real WebSocket, with the connection cut from outside.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../../apps/api/src/testing/api-harness';
import {
  createClient,
  followCursor,
  type TaskEvent,
  type TaskEventKind,
  TaskEventsDocument,
  type TaskplaneClient,
  type TaskplaneClientError,
} from '../../packages/client/src/index';
import { type TcpProxy, tcpProxy } from '../helpers';

let api: TestApi | undefined;
let proxy: TcpProxy | undefined;
const clients: TaskplaneClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await proxy?.close();
  await api?.close();
});

/** Resolves when `check` holds, checked again whenever `poke` is called (no polling, no sleeps). */
function condition() {
  const waiting: { check: () => boolean; resolve: () => void }[] = [];
  return {
    poke() {
      for (const waiter of [...waiting]) {
        if (!waiter.check()) continue;
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    until(check: () => boolean): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ check, resolve }));
    },
  };
}

/**
 * The API in this process behind a TCP proxy, a client that reaches it only through the proxy
 * (connection events observable), and an admin client that goes straight to it.
 */
async function setUp() {
  api = await startTestApi();
  const port = Number(new URL(api.url).port);
  proxy = await tcpProxy(() => port);
  const socket = condition();
  let connects = 0;
  let closes = 0;
  const watcher = createClient({
    url: `${proxy.url}/graphql`,
    token: ADMIN_TOKEN,
    maxRetryWaitMs: 100,
    on: {
      connected: () => {
        connects++;
        socket.poke();
      },
      closed: () => {
        closes++;
        socket.poke();
      },
    },
  });
  const admin = createClient({ url: `${api.url}/graphql`, token: ADMIN_TOKEN });
  clients.push(watcher, admin);
  const label = { key: 'resume', value: randomUUID() };
  const submit = async (id: string) => {
    const result = await admin.submitTask({
      type: 'single_product',
      params: { url: `http://127.0.0.1:9/products/${id}` },
      labels: [label],
    });
    if (result.__typename !== 'SubmitTaskPayload') throw new Error(result.message);
    return result.task.id;
  };
  return {
    api,
    proxy,
    watcher,
    admin,
    label,
    submit,
    connects: () => connects,
    closes: () => closes,
    socket,
  };
}

const SUBMITTED: TaskEventKind[] = ['SUBMITTED'];

/** `followCursor` over the label's SUBMITTED events, collecting what it delivers. */
function follow(
  setup: Awaited<ReturnType<typeof setUp>>,
  after: string,
  expired?: (error: TaskplaneClientError) => Promise<string | null>,
) {
  const seen: TaskEvent[] = [];
  const arrived = condition();
  const failures: TaskplaneClientError[] = [];
  const stream = followCursor(setup.watcher, TaskEventsDocument, {
    variables: () => ({ filter: { labels: [setup.label] }, kinds: SUBMITTED }),
    after,
    cursorOf: ({ taskEvents }) => taskEvents.cursor,
    next: ({ taskEvents }) => {
      seen.push(taskEvents);
      arrived.poke();
    },
    error: (error) => {
      failures.push(error);
      arrived.poke();
    },
    ...(expired ? { expired } : {}),
  });
  return { stream, seen, failures, until: arrived.until };
}

describe('followCursor across a connection cut from outside', () => {
  it('delivers every event once, in order: those before the cut, those during it, those after', async () => {
    const setup = await setUp();
    const start = await setup.admin.eventCursor();
    const feed = follow(setup, start);
    const ids = [await setup.submit('a'), await setup.submit('b')];
    await feed.until(() => feed.seen.length === 2);

    setup.proxy.cut();
    await setup.socket.until(() => setup.closes() >= 1);
    // While the client is cut off, three more tasks are submitted.
    for (const id of ['c', 'd', 'e']) ids.push(await setup.submit(id));
    setup.proxy.restore();
    await feed.until(() => feed.seen.length >= 5 || feed.failures.length > 0);
    ids.push(await setup.submit('f'));
    await feed.until(() => feed.seen.length >= 6 || feed.failures.length > 0);
    feed.stream.close();

    expect(feed.failures).toEqual([]);
    expect(setup.connects()).toBeGreaterThanOrEqual(2);
    expect(feed.seen.map((e) => e.taskId)).toEqual(ids);
    // Exactly the log, cursor for cursor: read it again from the same start on a fresh subscription.
    const log = setup.admin.watchTaskEvents({
      after: start,
      filter: { labels: [setup.label] },
      kinds: SUBMITTED,
    });
    const again: string[] = [];
    for await (const event of log) {
      again.push(event.cursor);
      if (again.length === ids.length) break;
    }
    expect(feed.seen.map((e) => e.cursor)).toEqual(again);
    expect(feed.stream.lastCursor).toBe(again.at(-1));
  });

  it('hands an expired cursor to `expired` and carries on from where it says', async () => {
    const setup = await setUp();
    const expiries: string[] = [];
    let carriedOn!: (cursor: string) => void;
    const carriedOnFrom = new Promise<string>((resolve) => {
      carriedOn = resolve;
    });
    const feed = follow(setup, '0', async (error) => {
      expiries.push(error.code);
      const cursor = await setup.admin.eventCursor();
      carriedOn(cursor);
      return cursor;
    });
    await setup.submit('a');
    await feed.until(() => feed.seen.length === 1);

    setup.proxy.cut();
    await setup.socket.until(() => setup.closes() >= 1);
    await setup.submit('b');
    await setup.submit('c');
    // Retention passes while the client is away: the log keeps only its newest entry, so the
    // events after the client's cursor are gone.
    await setup.api.runtime.redis.xtrim(setup.api.runtime.keys.events, 'MAXLEN', 1);
    setup.proxy.restore();
    await carriedOnFrom;
    const after = await setup.submit('d');
    await feed.until(() => feed.seen.length >= 2 || feed.failures.length > 0);
    feed.stream.close();

    expect(feed.failures).toEqual([]);
    expect(expiries).toEqual(['CURSOR_EXPIRED']);
    expect(feed.seen.map((e) => e.taskId).at(-1)).toBe(after);
    expect(feed.seen).toHaveLength(2);
  });
});
