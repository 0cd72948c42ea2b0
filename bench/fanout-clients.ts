/**
 * One client process of the fan-out bench: opens `count` sockets to `url` (protocol `ws` or
 * `graphql-ws`, one subscription each with `document`), prints `ready` once every socket is open
 * (and, for graphql-ws, acknowledged and subscribed), then for each event, once every socket got it,
 * prints `all <at> <last receipt>` (wall-clock ms; `at` is the event's origin time, which identifies
 * it). Several of these run side by side so no one process has to read 5,000 frames alone.
 *
 *   node --import tsx bench/fanout-clients.ts <url> ws|graphql-ws <count> [document]
 */
import { createClient } from 'graphql-ws';
import { BENCH_TOKEN, type WsSocket, wallNow, ws } from './lib';

const [url, protocol, countArg, document] = process.argv.slice(2) as [string, string, string, string?];
const count = Number(countArg);
const BATCH = 100;
const receipts = new Map<number, { n: number; last: number }>();

function received(at: number): void {
  const now = wallNow();
  const entry = receipts.get(at) ?? { n: 0, last: 0 };
  entry.n++;
  entry.last = now;
  receipts.set(at, entry);
  if (entry.n === count) {
    console.log(`all ${at} ${now}`);
    receipts.delete(at);
  }
}

/** The origin time of an event, wherever the protocol puts it. */
function atOf(payload: unknown): number {
  const p = payload as {
    at?: number;
    data?: { tick?: { at?: number }; taskEvents?: { task?: { result?: { at?: number } } } };
  };
  return p.at ?? p.data?.tick?.at ?? p.data?.taskEvents?.task?.result?.at ?? Number.NaN;
}

const sockets: WsSocket[] = [];
const clients: ReturnType<typeof createClient>[] = [];
for (let i = 0; i < count; i += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, count - i) }, () => {
    if (protocol === 'ws') {
      const socket = new ws.WebSocket(url);
      sockets.push(socket);
      socket.on('message', (data) => received(atOf(JSON.parse(data.toString()))));
      return new Promise<void>((resolve, reject) => {
        socket.on('open', () => resolve());
        socket.on('error', reject);
      });
    }
    return new Promise<void>((resolve, reject) => {
      const client = createClient({
        url,
        webSocketImpl: ws.WebSocket,
        connectionParams: { authorization: `Bearer ${BENCH_TOKEN}` },
        retryAttempts: 0,
        lazy: false,
        on: { connected: () => resolve(), error: reject },
      });
      clients.push(client);
      client.subscribe(
        { query: document! },
        {
          next: (value) => received(atOf(value)),
          error: (error) => console.error('subscription failed', error),
          complete: () => {},
        },
      );
    });
  });
  await Promise.all(batch);
}
console.log('ready');
process.on('SIGTERM', () => {
  for (const socket of sockets) socket.terminate();
  for (const client of clients) void client.dispose();
  setTimeout(() => process.exit(0), 200).unref();
});
