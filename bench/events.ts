/**
 * SUCCEEDED event latency under load, open loop: tasks are submitted at a fixed rate (`--rate`,
 * default 1,000/s, in `submitTasks` calls every 20 ms whether or not the last one answered) to the
 * real API process, run by the real worker process, and one graphql-ws subscriber of
 * `taskEvents(kinds: [SUCCEEDED]) { cursor task { result } }` times each event from the moment the
 * handler finished (the handler returns its clock in the result) to receipt. Raw: Redis pub/sub at
 * the same rate and message cadence, publish to receipt, one ioredis subscriber.
 *
 *   node --import tsx bench/events.ts [--rate 1000] [--seconds 8] [--runs 3]
 */
import { createRedis } from '@taskplane/core';
import { emit } from './figure';
import {
  alternate,
  arg,
  benchRedis,
  finishedAt,
  fmt,
  percentile,
  RUNS,
  SUCCEEDED_DOCUMENT,
  startStack,
  submitNoops,
  wallNow,
  wsClient,
} from './lib';

const rate = arg('rate', 1000);
const seconds = arg('seconds', 8);
const TICK_MS = 20;
/** How long after the last submit a run waits for stragglers before counting them as missing. */
const GRACE_MS = 15_000;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));

interface Sample {
  p50: number;
  p99: number;
  missing: number;
}

/** Calls `send(tick)` every TICK_MS for `ms` on a fixed schedule (it does not wait for the last call). */
async function openLoop(ms: number, send: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let tick = 0; performance.now() - start < ms; tick++) {
    pending.push(send());
    const due = start + (tick + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(pending);
}

function summarise(latencies: number[], expected: number): Sample {
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    missing: expected - latencies.length,
  };
}

const server = await benchRedis();
const stack = await startStack(server.url);
const client = wsClient(stack.wsUrl);
let ourLatencies: number[] = [];
/** Where the time goes: handler finish to the event's entry in the log (its cursor's time), and on. */
let toLog: number[] = [];
let fromLog: number[] = [];
let errors = 0;
client.subscribe(
  { query: SUCCEEDED_DOCUMENT },
  {
    next: (value) => {
      if (value.errors) errors++;
      const now = wallNow();
      const finished = finishedAt(value);
      ourLatencies.push(now - finished);
      const cursor = (value.data as { taskEvents?: { cursor?: string } } | undefined)?.taskEvents?.cursor;
      const logged = Number(cursor?.split('-')[0]);
      toLog.push(logged - finished);
      fromLog.push(now - logged);
    },
    error: (error) => console.error('subscription failed:', error),
    complete: () => {},
  },
);
const publisher = createRedis({ url: server.url, role: 'worker' });
const subscriber = createRedis({ url: server.url, role: 'subscriber' });
let rawLatencies: number[] = [];
subscriber.on('message', (_channel, message: string) => {
  rawLatencies.push(wallNow() - Number(JSON.parse(message).at));
});
await subscriber.subscribe('bench:events');

async function settle(latencies: () => number[], expected: number): Promise<void> {
  const deadline = performance.now() + GRACE_MS;
  while (latencies().length < expected && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
}

let submitted = 0;
async function ours(run: number): Promise<Sample> {
  ourLatencies = [];
  toLog = [];
  fromLog = [];
  const ms = run < 0 ? 2000 : seconds * 1000;
  let sent = 0;
  await openLoop(ms, async () => {
    sent += perTick;
    await submitNoops(stack.graphqlUrl, perTick, submitted++);
  });
  await settle(() => ourLatencies, sent);
  return summarise(ourLatencies, sent);
}

async function raw(run: number): Promise<Sample> {
  rawLatencies = [];
  const ms = run < 0 ? 2000 : seconds * 1000;
  let sent = 0;
  await openLoop(ms, async () => {
    const pipeline = publisher.pipeline();
    // About the size of one of our SUCCEEDED live messages.
    for (let i = 0; i < perTick; i++)
      pipeline.publish(
        'bench:events',
        JSON.stringify({
          cursor: `${Date.now()}-${sent + i}`,
          kind: 'succeeded',
          taskId: 'x'.repeat(21),
          at: wallNow(),
        }),
      );
    sent += perTick;
    await pipeline.exec();
  });
  await settle(() => rawLatencies, sent);
  return summarise(rawLatencies, sent);
}

try {
  await new Promise((r) => setTimeout(r, 500));
  const result = await alternate(RUNS, ours, raw);
  if (errors) console.log(`${errors} events arrived with errors`);
  const missing = result.ours.map((s) => s.missing);
  // Over the last run: the cursor's time is Redis's clock at the XADD (the same machine's clock).
  console.log(
    `events without a handler time: ${ourLatencies.filter(Number.isNaN).length} of ${ourLatencies.length}`,
  );
  console.log(
    `where the time goes (last run): handler finish -> event in the log p50 ${fmt(percentile(toLog, 50), 1)} ms, p99 ${fmt(percentile(toLog, 99), 1)} ms; log -> subscriber p50 ${fmt(percentile(fromLog, 50), 1)} ms, p99 ${fmt(percentile(fromLog, 99), 1)} ms`,
  );
  console.log(`SUCCEEDED events missing after ${GRACE_MS / 1000} s grace, per run: ${missing.join(', ')}`);
  emit([
    {
      order: 8,
      figure: `SUCCEEDED event latency at ${fmt(rate, 0)} tasks/s, handler finish to a subscriber of \`taskEvents { cursor task { result } }\`, p99`,
      unit: 'ms',
      ours: result.ours.map((s) => s.p99),
      raw: result.raw.map((s) => s.p99),
      rawLabel: 'Redis pub/sub, same rate',
      goal: { kind: 'plus<=', value: 3 },
      oursAside: { label: 'p50', unit: 'ms', values: result.ours.map((s) => s.p50) },
      rawAside: { label: 'p50', unit: 'ms', values: result.raw.map((s) => s.p50) },
      note: `${seconds} s per run, ${perTick} tasks per submitTasks call every ${TICK_MS} ms; events not received within ${GRACE_MS / 1000} s of the last submit: ${missing.join(', ')}`,
    },
  ]);
} finally {
  await client.dispose();
  subscriber.disconnect();
  publisher.disconnect();
  await stack.stop();
  await server.stop();
}
