/**
 * Task submission over HTTP, server in a process of its own so its CPU can be read from /proc apart
 * from the load generator: Taskplane's `submitTask` on the real API (`apps/api/src/main.ts`: auth,
 * validation, records, events, idempotency, limits) against a bare graphql-yoga server whose one
 * mutation calls BullMQ `queue.add` with the engine's job options (bench/bare-yoga.ts). One client
 * for both (node:http, keep-alive, one socket per request in flight), same concurrency, same count.
 *
 *   node --import tsx bench/submit.ts [--requests 1500] [--runs 3]
 */
import { Agent, request } from 'node:http';
import { emit } from './figure';
import {
  alternate,
  arg,
  BENCH_TOKEN,
  benchRedis,
  fmt,
  percentile,
  processCpuMs,
  RUNS,
  spawnBenchChild,
  startStack,
} from './lib';

const requests = arg('requests', 1500);
const CONCURRENCIES = [1, 32];
const WARMUP = 300;

interface Target {
  pid: number;
  url: string;
  headers: Record<string, string>;
  body(n: number): string;
}

interface Run {
  /** Requests per second at each concurrency. */
  perSecond: number[];
  p50: number[];
  /** Server CPU per request over the whole run, µs. */
  cpuUs: number;
}

function post(agent: Agent, target: Target, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        agent,
        method: 'POST',
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          // A bench that counts errors as requests would flatter whoever fails fastest.
          if (res.statusCode !== 200 || text.includes('"errors"') || text.includes('Error"'))
            reject(new Error(`request failed (${res.statusCode}): ${text.slice(0, 300)}`));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let sequence = 0;

/** `count` requests, `concurrency` in flight, each loop sending its next one when the last returns. */
async function load(target: Target, concurrency: number, count: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const t0 = performance.now();
        await post(agent, target, target.body(sequence++));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - start;
  agent.destroy();
  return { perSecond: count / (elapsed / 1000), p50: percentile(latencies, 50) };
}

async function measure(target: Target, run: number): Promise<Run> {
  const count = run < 0 ? WARMUP : requests;
  const cpu0 = processCpuMs(target.pid);
  const loads = [];
  for (const c of CONCURRENCIES) loads.push(await load(target, c, count));
  const cpu = processCpuMs(target.pid) - cpu0;
  return {
    perSecond: loads.map((l) => l.perSecond),
    p50: loads.map((l) => l.p50),
    cpuUs: (cpu * 1000) / (count * CONCURRENCIES.length),
  };
}

const redis = await benchRedis();
const stack = await startStack(redis.url, { worker: false });
const bare = spawnBenchChild('./bare-yoga.ts', { REDIS_URL: redis.url });
try {
  const port = (await bare.waitForLine(/listening (\d+)/))[1];
  const raw: Target = {
    pid: bare.pid,
    url: `http://127.0.0.1:${port}/graphql`,
    headers: {},
    body: (n) =>
      JSON.stringify({
        query: 'mutation($url: String!) { submitTask(type: "single_product", url: $url) }',
        variables: { url: `http://127.0.0.1:9/products/p${n}` },
      }),
  };
  const ours: Target = {
    pid: stack.api.pid,
    url: stack.graphqlUrl,
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    body: (n) =>
      JSON.stringify({
        query:
          'mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ... on SubmitTaskPayload { task { id } } ... on Error { code message } } }',
        variables: {
          input: { type: 'single_product', params: { url: `http://127.0.0.1:9/products/p${n}` } },
        },
      }),
  };
  const result = await alternate(
    RUNS,
    (run) => measure(ours, run),
    (run) => measure(raw, run),
  );
  const note = `${fmt(requests, 0)} requests per concurrency per run; servers in child processes (tsx on both sides)`;
  emit([
    ...CONCURRENCIES.map((c, i) => ({
      order: 5 + i / 10,
      figure: `\`submitTask\` req/s, ${c} in flight`,
      unit: '/s',
      ours: result.ours.map((r) => r.perSecond[i]!),
      raw: result.raw.map((r) => r.perSecond[i]!),
      rawLabel: 'bare Yoga mutation calling `queue.add`',
      goal: { kind: 'ratio>=' as const, value: 0.8 },
      oursAside: { label: 'latency p50', unit: 'ms', values: result.ours.map((r) => r.p50[i]!) },
      rawAside: { label: 'latency p50', unit: 'ms', values: result.raw.map((r) => r.p50[i]!) },
      note,
    })),
    {
      order: 6,
      figure: 'API CPU per `submitTask`',
      unit: 'µs',
      ours: result.ours.map((r) => r.cpuUs),
      raw: result.raw.map((r) => r.cpuUs),
      rawLabel: 'bare Yoga mutation calling `queue.add`',
      goal: { kind: 'ratio<=', value: 1.25 },
      note: 'utime + stime of the server process from /proc over both concurrencies ÷ requests',
    },
  ]);
} finally {
  await Promise.all([bare.stop(), stack.stop()]);
  await redis.stop();
}
