/**
 * Task submission over HTTP: Taskplane's `submitTask` mutation on the real API (auth, validation,
 * records, events, idempotency, limits) against a bare graphql-yoga server whose one mutation calls
 * BullMQ `queue.add` on the same Redis. One client for both (node:http with keep-alive sockets, one
 * per request in flight), the same concurrency, the same number of requests.
 *
 *   node --import tsx bench/submit.ts [requests=3000] [concurrencies=1,32]
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import { createSchema, createYoga } from 'graphql-yoga';
import { benchApi, benchRedis, fmt, latencyRows, percentile, report } from './lib';

const requests = Number(process.argv[2] ?? 3000);
const concurrencies = (process.argv[3] ?? '1,32').split(',').map(Number);
const WARMUP = 300;

interface Target {
  url: string;
  headers: Record<string, string>;
  /** The request body for request `n`. */
  body(n: number): string;
  close(): Promise<void>;
}

interface Run {
  perSecond: number;
  latencies: number[];
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

/** `count` requests, `concurrency` in flight, each loop sending its next one when the last returns. */
async function load(target: Target, concurrency: number, count: number, first: number): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = first + next++;
        const t0 = performance.now();
        await post(agent, target, target.body(n));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - start;
  agent.destroy();
  return { perSecond: count / (elapsed / 1000), latencies };
}

async function bareYoga(redisUrl: string): Promise<Target> {
  const connection = createRedis({ url: redisUrl, role: 'producer' });
  const queue = new Queue('products', { connection, prefix: 'raw' });
  queue.on('error', () => {});
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { ok: Boolean }
        type Mutation { submitTask(type: String!, url: String!): ID! }
      `,
      resolvers: {
        Mutation: {
          submitTask: async (_: unknown, args: { type: string; url: string }) =>
            (await queue.add(args.type, { url: args.url })).id,
        },
      },
    }),
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    headers: {},
    body: (n) =>
      JSON.stringify({
        query: 'mutation($url: String!) { submitTask(type: "single_product", url: $url) }',
        variables: { url: `http://127.0.0.1:9/products/p${n}` },
      }),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await queue.close();
      connection.disconnect();
    },
  };
}

async function taskplane(redisUrl: string): Promise<Target> {
  const api = await benchApi(redisUrl);
  const { ADMIN_TOKEN } = await import('@taskplane/api/testing');
  return {
    url: `${api.url}/graphql`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: (n) =>
      JSON.stringify({
        query:
          'mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ... on SubmitTaskPayload { task { id } } ... on Error { code message } } }',
        variables: {
          input: { type: 'single_product', params: { url: `http://127.0.0.1:9/products/p${n}` } },
        },
      }),
    close: () => api.close(),
  };
}

async function measure(target: Target): Promise<Run[]> {
  await load(target, 8, WARMUP, 0);
  const runs: Run[] = [];
  for (const [i, c] of concurrencies.entries())
    runs.push(await load(target, c, requests, WARMUP + i * requests));
  return runs;
}

const redis = await benchRedis();
try {
  const raw = await bareYoga(redis.url);
  const rawRuns = await measure(raw).finally(() => raw.close());
  const ours = await taskplane(redis.url);
  const oursRuns = await measure(ours).finally(() => ours.close());
  for (const [i, c] of concurrencies.entries()) {
    const o = oursRuns[i]!;
    const r = rawRuns[i]!;
    report(
      `task submission over HTTP: ${fmt(requests, 0)} submitTask mutations, ${c} in flight`,
      [
        { metric: 'requests per second', ours: o.perSecond, raw: r.perSecond, unit: '/s' },
        ...latencyRows('latency', o.latencies, r.latencies, [50, 99]),
        {
          metric: 'latency max',
          ours: percentile(o.latencies, 100),
          raw: percentile(r.latencies, 100),
          unit: 'ms',
        },
      ],
      'bare Yoga',
    );
  }
} finally {
  await redis.stop();
}
