/**
 * The soak: a steady load for `--minutes` (default 5): the real API and worker processes, no-op tasks
 * submitted open loop at `--rate` a second (default 200), one graphql-ws subscriber of SUCCEEDED
 * events with `task { result }`. Every `--every` seconds (default 5) it samples the API's and the
 * worker's RSS, Redis `used_memory`, and the event latency (handler finish to receipt) of the events
 * in that window; at the end it reports each one's slope per minute (least squares over the samples
 * after the first fifth, so start-up and JIT warm-up do not pass for a leak), and writes
 * bench/results/soak.md. Retention is the configured one: records are trimmed as a deployment would.
 *
 *   pnpm bench soak --minutes 10 [--rate 200] [--every 5]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRedis } from '@taskplane/core';
import {
  arg,
  benchRedis,
  finishedAt,
  fmt,
  percentile,
  processRssKb,
  redisUsedMemory,
  SUCCEEDED_DOCUMENT,
  startStack,
  submitNoops,
  wallNow,
  wsClient,
} from './lib';

const minutes = arg('minutes', 5);
const rate = arg('rate', 200);
const everyS = arg('every', 5);
const TICK_MS = 50;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));

interface Sample {
  minute: number;
  apiMb: number;
  workerMb: number;
  redisMb: number;
  p50: number;
  p99: number;
  events: number;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : Number.NaN;
}

const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });
const stack = await startStack(server.url);
const client = wsClient(stack.wsUrl);
let window: number[] = [];
client.subscribe(
  { query: SUCCEEDED_DOCUMENT },
  {
    next: (value) => window.push(wallNow() - finishedAt(value)),
    error: (error) => console.error('subscription failed:', error),
    complete: () => {},
  },
);
const samples: Sample[] = [];
let failures = 0;
try {
  const start = performance.now();
  const end = start + minutes * 60_000;
  let nextSample = start + everyS * 1000;
  const pending = new Set<Promise<unknown>>();
  console.log(`soak: ${minutes} min at ${rate} tasks/s, a sample every ${everyS} s (shared 2-core machine)`);
  console.log('minute   api MB  worker MB  redis MB  latency p50/p99 ms  events');
  for (let tick = 0; performance.now() < end; tick++) {
    const call = submitNoops(stack.graphqlUrl, perTick).catch(() => failures++);
    pending.add(call);
    void call.finally(() => pending.delete(call));
    if (performance.now() >= nextSample) {
      nextSample += everyS * 1000;
      const latencies = window;
      window = [];
      const sample: Sample = {
        minute: (performance.now() - start) / 60_000,
        apiMb: processRssKb(stack.api.pid) / 1024,
        workerMb: processRssKb(stack.worker!.pid) / 1024,
        redisMb: (await redisUsedMemory(admin)) / 2 ** 20,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        events: latencies.length,
      };
      samples.push(sample);
      console.log(
        `${fmt(sample.minute).padStart(6)} ${fmt(sample.apiMb, 1).padStart(8)} ${fmt(sample.workerMb, 1).padStart(10)} ${fmt(sample.redisMb, 1).padStart(9)} ${`${fmt(sample.p50, 1)} / ${fmt(sample.p99, 1)}`.padStart(19)} ${String(sample.events).padStart(7)}`,
      );
    }
    const due = start + (tick + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(pending);
  const steady = samples.slice(Math.floor(samples.length / 5));
  const xs = steady.map((s) => s.minute);
  const rows: [string, keyof Sample, string][] = [
    ['API RSS', 'apiMb', 'MB/min'],
    ['worker RSS', 'workerMb', 'MB/min'],
    ['Redis used_memory', 'redisMb', 'MB/min'],
    ['event latency p50', 'p50', 'ms/min'],
    ['event latency p99', 'p99', 'ms/min'],
  ];
  const first = steady[0];
  const last = steady.at(-1);
  const lines = [
    '# Soak results',
    '',
    `\`pnpm bench soak --minutes ${minutes}\`, ${rate} tasks/s, taken ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on a shared 2-core machine. Slopes are least squares over the samples after the first fifth (${steady.length} samples); failed submit calls: ${failures}.`,
    '',
    '| what | first steady sample | last sample | slope |',
    '|---|---|---|---|',
    ...rows.map(
      ([label, key, unit]) =>
        `| ${label} | ${fmt(Number(first?.[key] ?? Number.NaN), 1)} | ${fmt(Number(last?.[key] ?? Number.NaN), 1)} | ${fmt(
          slope(
            xs,
            steady.map((s) => Number(s[key])),
          ),
          3,
        )} ${unit} |`,
    ),
    '',
    '## Samples',
    '',
    '| minute | API RSS MB | worker RSS MB | Redis MB | latency p50 ms | p99 ms | events |',
    '|---|---|---|---|---|---|---|',
    ...samples.map(
      (s) =>
        `| ${fmt(s.minute)} | ${fmt(s.apiMb, 1)} | ${fmt(s.workerMb, 1)} | ${fmt(s.redisMb, 1)} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${s.events} |`,
    ),
    '',
  ];
  const markdown = lines.join('\n');
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}soak.md`, markdown);
  console.log(`\n${lines.slice(0, 10 + rows.length).join('\n')}`);
} finally {
  await client.dispose();
  await stack.stop();
  admin.disconnect();
  await server.stop();
}
