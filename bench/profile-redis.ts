/**
 * Where Redis spends its time per task: `INFO commandstats` after the same no-op workload through
 * Taskplane (engine submit + WorkerHost) and through BullMQ (addBulk + bare Worker, same job
 * options), each on a fresh stats reset of the bench's own redis-server. Script calls (`evalsha`)
 * include the time of the commands they run, which are also listed under their own names.
 *
 *   node --import tsx bench/profile-redis.ts [--tasks 2000] [--concurrency 20]
 */
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import { addNoopJobs, arg, benchRedis, drainBare, engineJobOptions, noopEngine } from './lib';

const tasks = arg('tasks', 2000);
const concurrency = arg('concurrency', 20);
const server = await benchRedis();
const admin = createRedis({ url: server.url, role: 'worker' });

async function report(label: string): Promise<void> {
  const text = await admin.info('commandstats');
  const rows = [...text.matchAll(/^cmdstat_([\w|-]+):calls=(\d+),usec=(\d+)/gm)]
    .map((m) => ({ name: m[1]!, calls: Number(m[2]), usec: Number(m[3]) }))
    .filter((r) => !r.name.startsWith('config') && r.name !== 'info')
    .sort((a, b) => b.usec - a.usec);
  const calls = rows.reduce((sum, r) => sum + r.calls, 0);
  console.log(`${label}: ${(calls / tasks).toFixed(1)} commands per task`);
  for (const r of rows.slice(0, 20)) {
    console.log(
      `  ${r.name.padEnd(18)} ${(r.calls / tasks).toFixed(2).padStart(6)} calls/task ${(r.usec / tasks).toFixed(1).padStart(7)} µs/task`,
    );
  }
}

const tp = noopEngine(server.url, concurrency, 'tp');
const jobOptions = engineJobOptions(tp.engine);
try {
  await admin.config('RESETSTAT');
  await tp.submit(tasks);
  await tp.drain(tasks);
  await report('taskplane');

  await admin.config('RESETSTAT');
  const connection = createRedis({ url: server.url, role: 'worker' });
  const queue = new Queue('raw', { connection, prefix: 'raw' });
  await addNoopJobs(queue, tasks, jobOptions);
  await drainBare('raw', tasks, { connection, prefix: 'raw', concurrency });
  await report('BullMQ');
  await queue.close();
  connection.disconnect();
} finally {
  await tp.close();
  admin.disconnect();
  await server.stop();
}
