/**
 * Event latency to one subscriber, one event at a time: raw Redis pub/sub (PUBLISH to an ioredis
 * subscriber in this process) against Taskplane (the engine's own append-log script writes a task
 * event, and a graphql-ws subscriber of `taskEvents` on the real API receives it). Both are timed
 * from just before the write to receipt, in this process.
 *
 *   node --import tsx bench/events.ts [events=2000]
 */
import { createRedis } from '@taskplane/core';
import {
  benchApi,
  benchRedis,
  deferred,
  fmt,
  latencyRows,
  metricValue,
  report,
  taskEventWriter,
  waitUntil,
} from './lib';

const events = Number(process.argv[2] ?? 2000);
const WARMUP = 100;

/** Time `count` round trips of `write` to `arrived`, one at a time. */
async function sample(count: number, write: (n: number) => Promise<unknown>, next: () => Promise<void>) {
  const latencies: number[] = [];
  for (let n = 0; n < count; n++) {
    const received = next();
    const t0 = performance.now();
    await write(n);
    await received;
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

/** A signal for "the next message arrived", re-armed after each. */
function arrivals() {
  let pending = deferred();
  return {
    arrived() {
      pending.resolve();
    },
    next() {
      pending = deferred();
      return pending.promise;
    },
  };
}

async function raw(url: string): Promise<number[]> {
  const publisher = createRedis({ url, role: 'worker' });
  const subscriber = createRedis({ url, role: 'subscriber' });
  const signal = arrivals();
  subscriber.on('message', () => signal.arrived());
  await subscriber.subscribe('bench:events');
  // About the size of one of our live event messages.
  const message = (n: number) =>
    JSON.stringify({
      cursor: `${Date.now()}-${n}`,
      kind: 'log',
      taskId: 'x'.repeat(21),
      data: { line: `line ${n}` },
    });
  try {
    await sample(WARMUP, (n) => publisher.publish('bench:events', message(n)), signal.next);
    return await sample(events, (n) => publisher.publish('bench:events', message(n)), signal.next);
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
  }
}

async function ours(url: string): Promise<number[]> {
  const api = await benchApi(url);
  try {
    const { taskId, write } = await taskEventWriter(api);
    const signal = arrivals();
    let errors = 0;
    api.ws().subscribe(
      {
        query: `subscription($id: ID!) { taskEvents(taskIds: [$id], kinds: [LOG]) { cursor kind taskId data } }`,
        variables: { id: taskId },
      },
      {
        next: (value) => {
          if (value.errors) errors++;
          signal.arrived();
        },
        error: (error) => console.error('subscription failed:', error),
        complete: () => {},
      },
    );
    await waitUntil('the subscription', async () => (await metricValue(api.metrics.subscriptions)) === 1);
    // The write is the engine's own path for a task event (see taskEventWriter).
    await sample(WARMUP, write, signal.next);
    const latencies = await sample(events, write, signal.next);
    if (errors) throw new Error(`${errors} events arrived with errors`);
    return latencies;
  } finally {
    await api.close();
  }
}

const redis = await benchRedis();
try {
  const rawMs = await raw(redis.url);
  const oursMs = await ours(redis.url);
  report(
    `event latency to one subscriber: ${fmt(events, 0)} events, one at a time (write to receipt)`,
    latencyRows('latency', oursMs, rawMs),
    'Redis pub/sub',
  );
} finally {
  await redis.stop();
}
