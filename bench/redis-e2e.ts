/**
 * Redis server CPU per task end to end, as a deployment pays it: the real API and worker processes
 * on a Redis with AOF on, tasks submitted over GraphQL (`submitTasks`, 100 per call), run by the
 * worker's no-op handler and recorded; `INFO cpu` before and after (until every success is in the
 * status index). Raw: plain BullMQ `addBulk` (100 per call) and a `Worker` at the same concurrency,
 * default options, on the same Redis. The API and worker stay up (idle) during the raw runs.
 *
 *   node --import tsx bench/redis-e2e.ts [--tasks 2000] [--runs 3]
 */
import { createRedis } from '@taskplane/core';
import { Queue, Worker } from 'bullmq';
import { emit } from './figure';
import {
  alternate,
  arg,
  benchRedisAof,
  deferred,
  fmt,
  RUNS,
  redisCommands,
  redisCpuMs,
  startStack,
  submitNoops,
  waitUntil,
} from './lib';

const tasks = arg('tasks', 2000);
const BATCH = 100;
const CONCURRENCY = 50;
const server = await benchRedisAof();
const admin = createRedis({ url: server.url, role: 'worker' });
const stack = await startStack(server.url);

interface Cost {
  cpuUs: number;
  commands: number;
  scripts: number;
}

async function measure(count: number, run: () => Promise<void>): Promise<Cost> {
  const [cpu0, cmd0] = await Promise.all([redisCpuMs(admin), redisCommands(admin)]);
  await run();
  const [cpu1, cmd1] = await Promise.all([redisCpuMs(admin), redisCommands(admin)]);
  return {
    cpuUs: ((cpu1 - cpu0) * 1000) / count,
    commands: (cmd1.calls - cmd0.calls) / count,
    scripts: (cmd1.scriptCalls - cmd0.scriptCalls) / count,
  };
}

let submitted = 0;
async function ours(run: number): Promise<Cost> {
  const count = run < 0 ? 500 : tasks;
  return await measure(count, async () => {
    for (let i = 0; i < count; i += BATCH) await submitNoops(stack.graphqlUrl, Math.min(BATCH, count - i), i);
    submitted += count;
    await waitUntil(
      'every task to succeed',
      async () => (await admin.zcard('tp:idx:status:success')) >= submitted,
      120_000,
      50,
    );
  });
}

async function raw(run: number): Promise<Cost> {
  const count = run < 0 ? 500 : tasks;
  const name = `raw${run + 1}`;
  return await measure(count, async () => {
    const connection = createRedis({ url: server.url, role: 'worker' });
    const queue = new Queue(name, { connection, prefix: 'raw' });
    let done = 0;
    const finished = deferred();
    const worker = new Worker(name, async () => ({ finishedAt: Date.now() }), {
      connection,
      prefix: 'raw',
      concurrency: CONCURRENCY,
    });
    worker.on('error', () => {});
    worker.on('completed', () => {
      if (++done === count) finished.resolve();
    });
    for (let i = 0; i < count; i += BATCH)
      await queue.addBulk(
        Array.from({ length: Math.min(BATCH, count - i) }, (_, n) => ({ name: 'noop', data: { n: i + n } })),
      );
    await finished.promise;
    await worker.close();
    await queue.close();
    connection.disconnect();
  });
}

try {
  const result = await alternate(RUNS, ours, raw);
  console.log(
    `commands per task end to end: taskplane ${result.ours.map((c) => fmt(c.commands)).join(', ')}; raw ${result.raw.map((c) => fmt(c.commands)).join(', ')}`,
  );
  console.log(
    `script calls per task end to end: taskplane ${result.ours.map((c) => fmt(c.scripts)).join(', ')}; raw ${result.raw.map((c) => fmt(c.scripts)).join(', ')}`,
  );
  emit([
    {
      order: 2,
      figure: 'Redis server CPU per task end to end (API + worker processes, `submitTasks`, AOF on)',
      unit: 'µs',
      ours: result.ours.map((c) => c.cpuUs),
      raw: result.raw.map((c) => c.cpuUs),
      rawLabel: 'plain `addBulk` + `Worker`, default options',
      goal: { kind: 'ratio<=', value: 1.5 },
      note: `${fmt(tasks, 0)} tasks per run, ${BATCH} per submitTasks call, worker concurrency ${CONCURRENCY}; INFO cpu (user + sys)`,
    },
  ]);
} finally {
  await stack.stop();
  admin.disconnect();
  await server.stop();
}
