/**
 * Worker throughput and CPU: Taskplane's WorkerHost (processor, records, events, projector) against a
 * bare BullMQ Worker running the same no-op job with the same job options, same concurrency, same
 * Redis, in this process. Tasks are enqueued first; the clock and `process.cpuUsage()` run from the
 * worker's start until every success is recorded (records and events included), so CPU per job is
 * the worker side's alone (the bench process does nothing else meanwhile but poll one ZCARD).
 *
 *   node --import tsx bench/worker.ts [--jobs 5000] [--concurrency 50] [--runs 3]
 */
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
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
} from './lib';

const jobs = arg('jobs', 5000);
const concurrency = arg('concurrency', 50);
const server = await benchRedis();
const optionsSource = noopEngine(server.url, concurrency, 'options');
const jobOptions = engineJobOptions(optionsSource.engine);

interface Drain {
  perSecond: number;
  cpuUsPerJob: number;
}

async function timed(run: () => Promise<void>): Promise<Drain> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { perSecond: jobs / (elapsed / 1000), cpuUsPerJob: (used.user + used.system) / jobs };
}

async function raw(run: number): Promise<Drain> {
  const name = `raw${run}`;
  const connection = createRedis({ url: server.url, role: 'worker' });
  const queue = new Queue(name, { connection, prefix: 'raw' });
  await addNoopJobs(queue, jobs, jobOptions);
  const result = await timed(() => drainBare(name, jobs, { connection, prefix: 'raw', concurrency }));
  await queue.close();
  connection.disconnect();
  return result;
}

async function ours(run: number): Promise<Drain> {
  const tp = noopEngine(server.url, concurrency, `tp${run}`);
  try {
    await tp.submit(jobs);
    return await timed(() => tp.drain(jobs));
  } finally {
    await tp.close();
  }
}

try {
  const result = await alternate(RUNS, ours, raw);
  const note = `${fmt(jobs, 0)} no-op jobs per run, concurrency ${concurrency}, worker in the bench process; CPU = process.cpuUsage() over the drain`;
  emit([
    {
      order: 7,
      figure: `worker, no-op tasks, concurrency ${concurrency}: jobs/s`,
      unit: '/s',
      ours: result.ours.map((d) => d.perSecond),
      raw: result.raw.map((d) => d.perSecond),
      rawLabel: 'bare BullMQ Worker',
      goal: { kind: 'ratio>=', value: 0.85 },
      note,
    },
    {
      order: 7.5,
      figure: 'worker CPU per no-op job',
      unit: 'µs',
      ours: result.ours.map((d) => d.cpuUsPerJob),
      raw: result.raw.map((d) => d.cpuUsPerJob),
      rawLabel: 'bare BullMQ Worker',
      goal: { kind: 'ratio<=', value: 1 / 0.85 },
      note: 'goal taken as the inverse of the jobs/s goal (the issue states one goal for the row)',
    },
  ]);
} finally {
  await optionsSource.close();
  await server.stop();
}
