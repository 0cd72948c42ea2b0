import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createClient, type TaskplaneClient } from './client';

// The client's resume path against a real graphql-ws server on a real socket. The server keeps an
// append-only log of cursored events, like the API's event stream, serves `after` from it, and
// records every subscribe it receives; the test cuts the socket under the client and checks what
// the re-subscription asked for and what the consumer saw.

// The API's own printed schema, so the client's documents validate as they do against the API.
const schema = buildSchema(
  readFileSync(new URL('../../../apps/api/schema.graphql', import.meta.url), 'utf8'),
);

const at = new Date(0).toISOString();

interface Logged {
  cursor: string;
  key: string;
}

/** A graphql-ws server over an in-memory log; `append` pushes to every open subscription. */
async function logServer() {
  const log: Logged[] = [];
  const appended = new EventEmitter();
  const afters: (string | null)[] = [];
  async function* follow(after: string | null | undefined, shape: (e: Logged) => Record<string, unknown>) {
    afters.push(after ?? null);
    let next = after ? log.findIndex((e) => Number(e.cursor) > Number(after)) : log.length;
    if (next < 0) next = log.length;
    for (;;) {
      while (next < log.length) yield shape(log[next++]!);
      await once(appended, 'append');
    }
  }
  const roots = {
    subscription: {
      workflow: ({ after }: { after?: string | null }) =>
        follow(after, (e) => ({
          workflow: {
            ...e,
            taskId: `t-${e.key}`,
            kind: 'SUCCEEDED',
            status: 'SUCCESS',
            at,
            data: {},
            workflow: null,
          },
        })),
      taskEvents: ({ after }: { after?: string | null }) =>
        follow(after, (e) => ({
          taskEvents: {
            cursor: e.cursor,
            taskId: `t-${e.key}`,
            kind: 'SUCCEEDED',
            status: 'SUCCESS',
            queue: 'q',
            type: 'noop',
            at,
            labels: [],
            data: {},
          },
        })),
    },
  };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/graphql' });
  await once(wss, 'listening');
  const server = useServer({ schema, roots }, wss);
  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    afters,
    append(key: string) {
      log.push({ cursor: String(log.length + 1), key });
      appended.emit('append');
    },
    /** Drops every client's socket as a crashed proxy would (no close frame). */
    cut() {
      for (const socket of wss.clients) socket.terminate();
    },
    async close() {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The next `count` values of `iterator`. */
async function take<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const values: T[] = [];
  while (values.length < count) {
    const result = await iterator.next();
    if (result.done) throw new Error(`ended after ${values.length} of ${count}`);
    values.push(result.value);
  }
  return values;
}

describe('resuming after a dropped socket', () => {
  let server: Awaited<ReturnType<typeof logServer>>;
  let client: TaskplaneClient;
  afterEach(async () => {
    await client?.close();
    await server?.close();
  });

  async function connected() {
    server = await logServer();
    client = createClient({ url: server.url, maxRetryWaitMs: 50 });
  }

  it('watchWorkflow re-subscribes after its last cursor, not its first `after`, and repeats nothing', async () => {
    await connected();
    server.append('A');
    server.append('B');
    const events = client.watchWorkflow('wf-1', '0');
    const before = await take(events, 2);
    expect(events.lastCursor).toBe('2');

    server.cut();
    server.append('C'); // while the socket is down
    const after = await take(events, 1);
    events.close();

    expect(server.afters).toEqual(['0', '2']);
    expect([...before, ...after].map((e) => e.workflow.key)).toEqual(['A', 'B', 'C']);
    expect(events.lastCursor).toBe('3');
  });

  it('watchTaskEvents takes the same path', async () => {
    await connected();
    server.append('A');
    const events = client.watchTaskEvents({ after: '0' });
    await take(events, 1);
    server.cut();
    server.append('B');
    const [resumed] = await take(events, 1);
    events.close();
    expect(server.afters).toEqual(['0', '1']);
    expect(resumed).toMatchObject({ cursor: '2', taskId: 't-B' });
  });
});
