/**
 * What one task costs Redis, in process (no HTTP): Taskplane's engine submits no-op tasks in bulk
 * and its WorkerHost runs and records them (records, indexes, events, projection), against BullMQ
 * `addBulk` + a `Worker` given the very job options the engine gives its jobs
 * (`TaskEngine.jobOptions`: priority, attempts, backoff, removeOnComplete/removeOnFail). Figures 1, 3
 * and 4 of the table:
 *
 * - Redis CPU per task (`INFO cpu`, user + sys, before and after);
 * - commands per task, including those run inside scripts (`INFO commandstats`);
 * - bytes per retained task: `MEMORY USAGE` of each task's record plus its share of the index sorted
 *   sets, against a completed BullMQ job's hash plus its share of the `completed` set.
 *
 *   node --import tsx bench/redis-cost.ts [--tasks 2000] [--runs 3]
 */
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { emit } from './figure';
import {
  addNoopJobs,
  alternate,
  arg,
  benchRedis,
  drainBare,
  engineJobOptions,
  fmt,
  noopEngine,
  RUNS,
  redisCommands,
  redisCpuMs,
} from './lib';

const tasks = arg('tasks', 2000);
const CONCURRENCY = 20;
const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });

interface Cost {
  cpuUs: number;
  commands: number;
  scripts: number;
  bytes: number;
}

async function measure(run: () => Promise<void>, bytes: () => Promise<number>): Promise<Cost> {
  const [cpu0, cmd0] = await Promise.all([redisCpuMs(admin), redisCommands(admin)]);
  await run();
  const [cpu1, cmd1] = await Promise.all([redisCpuMs(admin), redisCommands(admin)]);
  // The admin's own INFO calls are 2 commands per snapshot: noise at 2,000 tasks, but take them off.
  return {
    cpuUs: ((cpu1 - cpu0) * 1000) / tasks,
    commands: (cmd1.calls - cmd0.calls - 2) / tasks,
    scripts: (cmd1.scriptCalls - cmd0.scriptCalls) / tasks,
    bytes: await bytes(),
  };
}

/** Sum of `MEMORY USAGE` (exact: SAMPLES 0) over `keys`. */
async function memoryOf(redis: Redis, keys: string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [, value] of (await pipeline.exec()) ?? []) total += Number(value ?? 0);
  }
  return total;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

const optionsSource = noopEngine(server.url, CONCURRENCY, 'options');
const jobOptions = engineJobOptions(optionsSource.engine);
console.log(
  `raw job options (TaskEngine.jobOptions): ${JSON.stringify({ ...jobOptions(), jobId: '…', timestamp: '…' })}`,
);

async function raw(run: number): Promise<Cost> {
  const name = `raw${run}`;
  const prefix = 'raw';
  return await measure(
    async () => {
      const connection = createRedis({ url: server.url, role: 'worker' });
      const queue = new Queue(name, { connection, prefix });
      await addNoopJobs(queue, tasks, jobOptions);
      await drainBare(name, tasks, { connection, prefix, concurrency: CONCURRENCY });
      await queue.close();
      connection.disconnect();
    },
    async () => {
      // What a kept completed job costs: its hash plus its entry in `completed`.
      const kept = await admin.zrange(`${prefix}:${name}:completed`, 0, -1);
      const hashes = await memoryOf(
        admin,
        kept.map((id) => `${prefix}:${name}:${id}`),
      );
      const set = await memoryOf(admin, [`${prefix}:${name}:completed`]);
      return (hashes + set) / kept.length;
    },
  );
}

async function ours(run: number): Promise<Cost> {
  const tp = noopEngine(server.url, CONCURRENCY, `tp${run}`);
  return await measure(
    async () => {
      await tp.submit(tasks);
      await tp.drain(tasks);
      await tp.close();
    },
    async () => {
      const records = await memoryOf(admin, await scanKeys(admin, `tp${run}:task:*`));
      const indexes = await memoryOf(admin, await scanKeys(admin, `tp${run}:idx:*`));
      return (records + indexes) / tasks;
    },
  );
}

/**
 * Redis CPU per task submitted one at a time (a `submitTask` each), no worker: the engine's submit
 * (BullMQ's add and the submit's own projection call) against `queue.add` with the same job options.
 * At one task per call nothing is shared between tasks, so this is where a call's fixed cost shows.
 */
const SINGLE = 2000;
async function singleSubmit(submit: (n: number) => Promise<unknown>): Promise<number> {
  // The first call on a connection sets things up (scripts, queue settings): not counted.
  await submit(-1);
  const cpu0 = await redisCpuMs(admin);
  for (let n = 0; n < SINGLE; n++) await submit(n);
  return (((await redisCpuMs(admin)) - cpu0) * 1000) / SINGLE;
}

async function singleOurs(run: number): Promise<number> {
  const tp = noopEngine(server.url, CONCURRENCY, `tps${run + 1}`);
  try {
    return await singleSubmit((n) => tp.engine.submit({ type: 'noop', params: { n } }));
  } finally {
    await tp.close();
  }
}

async function singleRaw(run: number): Promise<number> {
  const connection = createRedis({ url: server.url, role: 'worker' });
  const queue = new Queue(`raws${run + 1}`, { connection, prefix: 'raw' });
  try {
    return await singleSubmit((n) => queue.add('noop', { n }, jobOptions()));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

try {
  const single = await alternate(RUNS, singleOurs, singleRaw);
  const result = await alternate(RUNS, ours, raw);
  const pick = (side: Cost[], key: keyof Cost) => side.map((c) => c[key]);
  console.log(
    `script calls per task: taskplane ${pick(result.ours, 'scripts')
      .map((n) => fmt(n))
      .join(', ')}; raw ${pick(result.raw, 'scripts')
      .map((n) => fmt(n))
      .join(', ')}`,
  );
  emit([
    {
      order: 1,
      figure: 'Redis CPU per no-op task (submit + run + record)',
      unit: 'µs',
      ours: pick(result.ours, 'cpuUs'),
      raw: pick(result.raw, 'cpuUs'),
      rawLabel: 'BullMQ addBulk + Worker, same job options',
      goal: { kind: 'ratio<=', value: 1.5 },
      note: `${fmt(tasks, 0)} tasks per run, concurrency ${CONCURRENCY}, in one process (engine + WorkerHost vs Queue + Worker)`,
    },
    {
      order: 1.5,
      figure: 'Redis CPU per task submitted one at a time (submit + record, no run)',
      unit: 'µs',
      ours: single.ours,
      raw: single.raw,
      rawLabel: 'BullMQ `queue.add`, same job options',
      goal: { kind: 'ratio<=', value: 1.5 },
      note: `${fmt(SINGLE, 0)} sequential submits per run (engine.submit vs queue.add), no worker; the goal is the issue's Redis CPU goal applied to a submit alone`,
    },
    {
      order: 3,
      figure: 'Redis commands per task (incl. inside scripts)',
      unit: '',
      ours: pick(result.ours, 'commands'),
      raw: pick(result.raw, 'commands'),
      rawLabel: 'BullMQ addBulk + Worker, same job options',
      goal: { kind: 'ratio<=', value: 1.4 },
      note: 'INFO commandstats; Redis 7 counts commands run inside scripts under their own names',
    },
    {
      order: 4,
      figure: 'Redis bytes per retained task (record + indexes)',
      unit: 'B',
      ours: pick(result.ours, 'bytes'),
      raw: pick(result.raw, 'bytes'),
      rawLabel: 'a completed BullMQ job (hash + `completed` entry)',
      goal: { kind: 'ratio<=', value: 1.2 },
      note: 'MEMORY USAGE (SAMPLES 0) of every record and index key ÷ tasks; raw: the kept completed jobs',
    },
  ]);
} finally {
  await optionsSource.close();
  admin.disconnect();
  await server.stop();
}
