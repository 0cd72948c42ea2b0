/**
 * What one task costs Redis, counted in instructions: the workloads of `redis-cost.ts` against a
 * `redis-server` run under `valgrind --tool=callgrind`, which counts the instructions Redis executes
 * while each side runs. The count is the same for the same code and workload whatever else the
 * machine is doing, where `INFO cpu` moved by 30-40 % between runs on a shared machine: this is
 * the figure to compare before and after a change to the scripts (a change of 1 % shows).
 *
 * Rows, Taskplane against BullMQ with the same job options, as in redis-cost.ts:
 * - per no-op task, submit + run + record (engine `submitMany` + `WorkerHost` vs `addBulk` + `Worker`);
 * - per no-op job, the same run's drain alone: what Redis does while the workers run, which bounds
 *   their jobs/s when Redis is the busy process (the worker bench's row);
 * - per task submitted one at a time (`engine.submit` vs `queue.add`).
 * Each Taskplane row is also split into BullMQ's scripts (EVALSHA), Taskplane's (FCALL) and the rest
 * (polls, heartbeats, replies to plain commands).
 *
 * Needs `valgrind` (Debian: apt-get install valgrind); without it, says so and writes nothing. Redis
 * runs about 50 times slower under it, so the sizes are small; one run per side (the count does not
 * vary beyond 1-2 % between runs, from random ids, timestamps and timer-driven commands).
 *
 *   node --import tsx bench/redis-instructions.ts [--tasks 1000] [--single 300]   (0 leaves a row out)
 */
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import { callgrindRedis, hasValgrind } from './callgrind';
import { emit } from './figure';
import { addNoopJobs, arg, drainBare, engineJobOptions, fmt, noopEngine } from './lib';

const tasks = arg('tasks', 1000);
const single = arg('single', 300);
const CONCURRENCY = 20;

if (!hasValgrind()) {
  console.log('redis-instructions: valgrind is not installed (apt-get install valgrind); skipped');
  // No rows, rather than a bench that did not finish.
  emit([]);
  process.exit(0);
}

interface Count {
  total: number;
  bullmq: number;
  taskplane: number;
}

function countOf(costs: Map<string, number>, n: number): Count {
  return {
    total: (costs.get('total') ?? 0) / n,
    bullmq: (costs.get('evalShaCommand') ?? 0) / n,
    taskplane: (costs.get('fcallCommand') ?? 0) / n,
  };
}

const redis = await callgrindRedis();
const optionsSource = noopEngine(redis.url, CONCURRENCY, 'options');
const jobOptions = engineJobOptions(optionsSource.engine);

/** Counts of the submit + run + record workload, and of its drain alone (the workers' share). */
interface Batch {
  all: Count;
  drain: Count;
}

function sum(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [name, n] of b) out.set(name, (out.get(name) ?? 0) + n);
  return out;
}

async function ours(): Promise<Batch> {
  const tp = noopEngine(redis.url, CONCURRENCY, 'tp');
  // The first calls load the function library and BullMQ's scripts: not a task's cost.
  await tp.submit(1);
  await tp.drain(1);
  const submit = await redis.measure(() => tp.submit(tasks));
  const drain = await redis.measure(() => tp.drain(tasks + 1));
  await tp.close();
  return { all: countOf(sum(submit, drain), tasks), drain: countOf(drain, tasks) };
}

async function raw(): Promise<Batch> {
  const connection = createRedis({ url: redis.url, role: 'worker' });
  const queue = new Queue('raw', { connection, prefix: 'raw' });
  await addNoopJobs(queue, 1, jobOptions, -1);
  await drainBare('raw', 1, { connection, prefix: 'raw', concurrency: CONCURRENCY });
  const add = await redis.measure(() => addNoopJobs(queue, tasks, jobOptions));
  const drain = await redis.measure(() =>
    drainBare('raw', tasks, { connection, prefix: 'raw', concurrency: CONCURRENCY }),
  );
  await queue.close();
  connection.disconnect();
  return { all: countOf(sum(add, drain), tasks), drain: countOf(drain, tasks) };
}

async function singleOurs(): Promise<Count> {
  const tp = noopEngine(redis.url, CONCURRENCY, 'tps');
  await tp.engine.submit({ type: 'noop', params: { n: -1 } });
  const costs = await redis.measure(async () => {
    for (let n = 0; n < single; n++) await tp.engine.submit({ type: 'noop', params: { n } });
  });
  await tp.close();
  return countOf(costs, single);
}

async function singleRaw(): Promise<Count> {
  const connection = createRedis({ url: redis.url, role: 'worker' });
  const queue = new Queue('raws', { connection, prefix: 'raw' });
  await queue.add('noop', { n: -1 }, jobOptions());
  const costs = await redis.measure(async () => {
    for (let n = 0; n < single; n++) await queue.add('noop', { n }, jobOptions());
  });
  await queue.close();
  connection.disconnect();
  return countOf(costs, single);
}

const k = (n: number) => `${fmt(n / 1000)}k`;
try {
  const rows = [];
  if (tasks > 0) {
    const [batchOurs, batchRaw] = [await ours(), await raw()];
    rows.push({
      order: 1.1,
      name: 'per no-op task (submit + run + record)',
      ours: batchOurs.all,
      raw: batchRaw.all,
      goal: 1.5,
      goalNote: '',
    });
    rows.push({
      order: 7.2,
      name: "per no-op job, the workers' drain alone (tasks submitted before)",
      ours: batchOurs.drain,
      raw: batchRaw.drain,
      // Redis is the busy process while the workers drain: jobs/s follows its work per job.
      goal: 1 / 0.85,
      goalNote:
        '; goal taken as the inverse of the jobs/s goal, Redis being the busy process during the drains',
    });
  }
  if (single > 0)
    rows.push({
      order: 1.6,
      name: 'per task submitted one at a time (submit + record, no run)',
      ours: await singleOurs(),
      raw: await singleRaw(),
      goal: 1.5,
      goalNote: '',
    });
  for (const row of rows) {
    console.log(
      `  Redis instructions ${row.name}: taskplane ${k(row.ours.total)} (BullMQ's scripts ${k(row.ours.bullmq)}, Taskplane's ${k(row.ours.taskplane)}, the rest ${k(row.ours.total - row.ours.bullmq - row.ours.taskplane)}) | raw ${k(row.raw.total)} (BullMQ's scripts ${k(row.raw.bullmq)}) | ${fmt(row.ours.total / row.raw.total)}x`,
    );
  }
  emit(
    rows.map((row) => ({
      order: row.order,
      figure: `Redis instructions ${row.name} (callgrind: exact, not noisy)`,
      unit: 'k',
      ours: [row.ours.total / 1000],
      raw: [row.raw.total / 1000],
      rawLabel: 'BullMQ, same job options (as in the Redis CPU rows)',
      goal: { kind: 'ratio<=' as const, value: row.goal },
      note: `instructions Redis executed while each side ran, counted by valgrind's callgrind (one run each: the count varies by 1-2 % between runs); Taskplane's count splits into BullMQ's scripts ${k(row.ours.bullmq)}, Taskplane's function calls ${k(row.ours.taskplane)}, the rest ${k(row.ours.total - row.ours.bullmq - row.ours.taskplane)}${row.goalNote}`,
    })),
  );
} finally {
  await optionsSource.close();
  await redis.stop();
}
