/**
 * One event to many subscribers. Taskplane: 2,000 `taskEvents` subscriptions with the same document
 * over 200 graphql-ws sockets to the real API; one task event is written (the engine's append-log
 * script) and timed to the last subscriber's receipt, and the API's subscription-execution counter
 * says how many times the document ran for it. Raw: 2,000 ioredis subscriber connections to one
 * channel (each client its own Redis subscription), and one ioredis subscriber handing the message
 * to 2,000 in-memory listeners (what one pub/sub subscription gives a process).
 *
 *   node --import tsx bench/fanout.ts [subscribers=2000] [sockets=200] [events=20]
 */
import { createRedis } from '@taskplane/core';
import type { Redis } from 'ioredis';
import {
  benchApi,
  benchRedis,
  deferred,
  fmt,
  metricValue,
  percentile,
  report,
  taskEventWriter,
  waitUntil,
} from './lib';

const subscribers = Number(process.argv[2] ?? 2000);
const sockets = Number(process.argv[3] ?? 200);
const events = Number(process.argv[4] ?? 20);
const CHANNEL = 'bench:fanout';
const DOCUMENT = `subscription { taskEvents(kinds: [LOG]) { cursor kind taskId data task { id status } } }`;

interface Round {
  first: number;
  last: number;
}

/**
 * Write `events` events one at a time; each round ends when all `subscribers` got it. `onReceipt`
 * must be called once per subscriber per event.
 */
function rounds(write: (n: number) => Promise<unknown>) {
  let received = 0;
  let firstAt = 0;
  let all = deferred<number>();
  return {
    onReceipt() {
      const now = performance.now();
      if (received++ === 0) firstAt = now;
      if (received === subscribers) all.resolve(now);
    },
    async run(count: number): Promise<Round[]> {
      const out: Round[] = [];
      for (let n = 0; n < count; n++) {
        received = 0;
        all = deferred<number>();
        const t0 = performance.now();
        await write(n);
        const lastAt = await all.promise;
        out.push({ first: firstAt - t0, last: lastAt - t0 });
      }
      return out;
    },
  };
}

async function rawConnections(url: string): Promise<Round[]> {
  const publisher = createRedis({ url, role: 'worker' });
  const clients: Redis[] = [];
  const fan = rounds((n) => publisher.publish(CHANNEL, `event ${n}`));
  try {
    for (let i = 0; i < subscribers; i += 100) {
      const batch = Array.from({ length: Math.min(100, subscribers - i) }, () =>
        createRedis({ url, role: 'subscriber' }),
      );
      clients.push(...batch);
      await Promise.all(batch.map((c) => c.subscribe(CHANNEL)));
    }
    for (const c of clients) c.on('message', fan.onReceipt);
    await fan.run(2);
    return await fan.run(events);
  } finally {
    for (const c of clients) c.disconnect();
    publisher.disconnect();
  }
}

async function rawInMemory(url: string): Promise<Round[]> {
  const publisher = createRedis({ url, role: 'worker' });
  const subscriber = createRedis({ url, role: 'subscriber' });
  const fan = rounds((n) => publisher.publish(CHANNEL, `event ${n}`));
  const listeners = Array.from({ length: subscribers }, () => fan.onReceipt);
  subscriber.on('message', () => {
    for (const listener of listeners) listener();
  });
  try {
    await subscriber.subscribe(CHANNEL);
    await fan.run(2);
    return await fan.run(events);
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
  }
}

async function ours(url: string): Promise<{ rounds: Round[]; executionsPerEvent: number }> {
  const api = await benchApi(url);
  try {
    const { write } = await taskEventWriter(api);
    const fan = rounds(write);
    const clients = Array.from({ length: sockets }, () => api.ws());
    let errors = 0;
    for (let i = 0; i < subscribers; i++) {
      clients[i % sockets]!.subscribe(
        { query: DOCUMENT },
        {
          next: (value) => {
            if (value.errors) errors++;
            fan.onReceipt();
          },
          error: () => errors++,
          complete: () => {},
        },
      );
    }
    await waitUntil(
      `${subscribers} subscriptions`,
      async () => (await metricValue(api.metrics.subscriptions)) === subscribers,
      60_000,
      20,
    );
    await fan.run(2);
    const before = await metricValue(api.metrics.executions);
    const measured = await fan.run(events);
    const executionsPerEvent = ((await metricValue(api.metrics.executions)) - before) / events;
    if (errors) throw new Error(`${errors} subscription results carried errors`);
    return { rounds: measured, executionsPerEvent };
  } finally {
    await api.close();
  }
}

const stat = (rs: Round[], key: keyof Round, p: number) =>
  percentile(
    rs.map((r) => r[key]),
    p,
  );

const redis = await benchRedis();
try {
  const connections = await rawConnections(redis.url);
  const inMemory = await rawInMemory(redis.url);
  const tp = await ours(redis.url);
  const rows = (raw: Round[]) => [
    {
      metric: 'first receipt p50',
      ours: stat(tp.rounds, 'first', 50),
      raw: stat(raw, 'first', 50),
      unit: 'ms',
    },
    { metric: 'last receipt p50', ours: stat(tp.rounds, 'last', 50), raw: stat(raw, 'last', 50), unit: 'ms' },
    {
      metric: 'last receipt max',
      ours: stat(tp.rounds, 'last', 100),
      raw: stat(raw, 'last', 100),
      unit: 'ms',
    },
  ];
  const title = `fan-out: one event to ${fmt(subscribers, 0)} subscribers, ${fmt(events, 0)} events`;
  report(
    `${title} (ours over ${sockets} graphql-ws sockets)`,
    rows(connections),
    `${fmt(subscribers, 0)} conns`,
  );
  report(`${title} (raw: one subscriber, in-memory fan-out)`, rows(inMemory), '1 sub + mem');
  console.log(
    `subscription executions per event: ${fmt(tp.executionsPerEvent)} for ${fmt(subscribers, 0)} subscribers of one document`,
  );
} finally {
  await redis.stop();
}
