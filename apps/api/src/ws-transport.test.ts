import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@taskplane/core';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphQLWsServer, serveGraphQLWs, type TransportTimes } from './ws-transport';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { count(to: Int!): Int! }
`);

const roots = {
  subscription: {
    // One number every 10 ms: a long count is a subscription that stays open.
    async *count({ to }: { to: number }) {
      for (let i = 1; i <= to; i++) {
        yield { count: i };
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  },
};

let http: Server | null = null;
let stop: (() => Promise<void>) | null = null;

afterEach(async () => {
  await stop?.();
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  http = null;
  stop = null;
});

/** A graphql-ws server on the transport, over a real HTTP server; returns its ws:// URL. */
async function serve(times: TransportTimes, allow = true): Promise<string> {
  const wss = graphQLWsServer(64 * 1024);
  const served = serveGraphQLWs(
    { schema, roots, onConnect: () => allow },
    wss,
    createLogger('ws-transport-test', 'silent'),
    times,
  );
  http = createServer();
  http.on('upgrade', (request, socket, head) =>
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
  );
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
  stop = () => served.dispose();
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
}

interface Client {
  socket: WebSocket;
  messages: { id?: string; type: string; payload?: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message of `type` (already received or to come). */
  next(type: string): Promise<{ id?: string; type: string; payload?: unknown }>;
  send(message: object): void;
}

async function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
  const socket = new WebSocket(url, 'graphql-transport-ws', options);
  const messages: Client['messages'] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next: Client['next'] = async (type) => {
    for (;;) {
      const found = messages.find((m) => m.type === type);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { socket, messages, closed, next, send: (message) => socket.send(JSON.stringify(message)) };
}

async function acknowledged(url: string, options?: WebSocket.ClientOptions): Promise<Client> {
  const client = await connect(url, options);
  client.send({ type: 'connection_init' });
  await client.next('connection_ack');
  return client;
}

describe('the graphql-ws transport', () => {
  it('runs a subscription to its end: every result in order, then complete', async () => {
    const client = await acknowledged(await serve({}));
    client.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { count(to: 3) }' } });
    await client.next('complete');
    expect(client.messages.filter((m) => m.type === 'next').map((m) => m.payload)).toEqual([
      { data: { count: 1 } },
      { data: { count: 2 } },
      { data: { count: 3 } },
    ]);
  });

  it('closes with 4403 when the connection is refused', async () => {
    const refused = await connect(await serve({}, false));
    refused.send({ type: 'connection_init' });
    expect((await refused.closed).code).toBe(4403);
  });

  it('closes with 4409 when a subscription id is reused while it runs', async () => {
    const client = await acknowledged(await serve({}));
    const long = { query: 'subscription { count(to: 1000000) }' };
    client.send({ id: 'x', type: 'subscribe', payload: long });
    client.send({ id: 'x', type: 'subscribe', payload: long });
    expect((await client.closed).code).toBe(4409);
  });

  it('closes a socket that sends no connection_init in time with 4408, and keeps one that did', async () => {
    const url = await serve({ initWaitMs: 100 });
    const silent = await connect(url);
    const polite = await acknowledged(url);
    expect(await silent.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    // Well past the wait: the acknowledged socket still answers.
    await new Promise((resolve) => setTimeout(resolve, 300));
    polite.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { count(to: 1) }' } });
    await polite.next('complete');
    expect(polite.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('ends a socket that stops answering pings, and keeps one that answers', async () => {
    const url = await serve({ keepAliveMs: 100 });
    const deaf = await acknowledged(url, { autoPong: false });
    const alive = await acknowledged(url);
    let pings = 0;
    alive.socket.on('ping', () => pings++);
    const { code } = await deaf.closed;
    // Terminated, not closed by a handshake.
    expect(code).toBe(1006);
    // Pinged at least twice more since, and still open.
    const before = pings;
    while (pings < before + 2) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes every socket with 1001 when it stops, ending their subscriptions', async () => {
    const client = await acknowledged(await serve({}));
    client.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription { count(to: 1000000) }' } });
    await client.next('next');
    await stop!();
    stop = null;
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
