import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { buildSchema, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createClient, type TaskplaneClient } from './client';

// A dropped socket and an expired cursor are tested against the real API
// (test/e2e/client-resume.test.ts). What the API does only under a load a test cannot make on
// demand, ending a subscriber that reads too slowly, is played here by a graphql-ws server that
// speaks the API's schema and records every `after` it is asked for.

const schema = buildSchema(
  readFileSync(new URL('../../../apps/api/schema.graphql', import.meta.url), 'utf8'),
);

const event = (cursor: number) => ({
  taskEvents: {
    cursor: String(cursor),
    kind: 'SUBMITTED',
    taskId: `t${cursor}`,
    queue: 'q',
    type: 'noop',
    status: 'PENDING',
    at: new Date(0).toISOString(),
    labels: [],
    data: {},
  },
});

let client: TaskplaneClient | undefined;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await client?.close();
  await close?.();
});

it('resumes after the last cursor when the API ends a subscriber as too slow', async () => {
  const afters: (string | null)[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/graphql' });
  await once(wss, 'listening');
  const server = useServer(
    {
      schema,
      // The first subscription gets three events, then SUBSCRIBER_TOO_SLOW, as the API ends a
      // reader that fell behind after the events it had; the next one continues after its `after`.
      async *subscribe({ variableValues }) {
        const after = (variableValues?.after as string | null | undefined) ?? null;
        afters.push(after);
        if (afters.length === 1) {
          for (const cursor of [1, 2, 3]) yield { data: event(cursor) };
          yield { errors: [new GraphQLError('too slow', { extensions: { code: 'SUBSCRIBER_TOO_SLOW' } })] };
          return;
        }
        for (let cursor = Number(after) + 1; cursor <= 5; cursor++) yield { data: event(cursor) };
        await new Promise(() => {});
      },
    },
    wss,
  );
  close = async () => {
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  const { port } = wss.address() as AddressInfo;
  client = createClient({ url: `http://127.0.0.1:${port}/graphql` });

  const events = client.watchTaskEvents({ after: '0' });
  const cursors: string[] = [];
  for await (const e of events) {
    cursors.push(e.cursor);
    if (cursors.length === 5) break;
  }
  expect(cursors).toEqual(['1', '2', '3', '4', '5']);
  expect(afters).toEqual(['0', '3']);
});
