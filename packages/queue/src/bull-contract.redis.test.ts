// The contract between Taskplane and BullMQ's private storage. Everything Taskplane reads or writes
// of it is in scripts/bull.lua; this test runs real BullMQ through the transitions Taskplane
// records and reads them back through bull.lua's own functions. An upgrade of `bullmq` that changes
// a field, an event name or a key fails here, not in production.
import { randomBytes } from 'node:crypto';
import { createRedis, Keys } from '@taskplane/core';
import { FlowProducer, type Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bullClient, sendAdds } from './bull-add';
import { renderLua } from './scripts';
import { REDIS_URL } from './testing/harness';

/** Reads a job and its queue's event stream the way the projection and the delete script do. */
const PROBE = `
local rcall = redis.call
local BULL = ARGV[1]
--@include bull
local queue, id = ARGV[2], ARGV[3]
local entries = {}
for i, e in ipairs(rcall('XRANGE', KEYS[1], '-', '+')) do
  local f = bullEntry(e[2])
  local childQueue, childId = bullFailedChild(f.failedReason)
  if childQueue then f.failedChild = {childQueue, childId} end
  if f.jobId == id then entries[#entries + 1] = f end
end
local found = {
  job = bullJob(queue, id) or false, worker = bullWorkerOf(queue, id) or false,
  reasons = bullFailureReasons(queue, id), failedReason = bullFailedReason(queue, id) or false, state = bullFinishedState(queue, id), entries = entries
}
local activeCount, activeIds = bullActiveJobs(queue, 10)
found.active = {count = activeCount, ids = activeIds}
if ARGV[4] == 'remove' then bullRemoveFinished(queue, id) end
if ARGV[4] == 'promote' then found.done = bullPromoteParked(queue, id) end
if ARGV[4] == 'remove-parked' then found.done = bullRemoveParked(queue, id) end
if ARGV[4] == 'schedule' then found.done = bullScheduleParked(queue, id, tonumber(ARGV[5]), tonumber(ARGV[6])) end
return cjson.encode(found)`;

interface Probe {
  /** `timestamp` as BullMQ stored it (text: the projection keeps its form, see common.lua num). */
  job: { name: string; data: string; timestamp: string; delay: number } | false;
  worker: string | false;
  reasons: string[] | Record<string, never>;
  failedReason: string | false;
  state: 'missing' | 'finished' | 'alive';
  done?: boolean;
  /** BullMQ's active list; `ids` is `{}` when empty (cjson). */
  active: { count: number; ids: string[] | Record<string, never> };
  entries: {
    kind: string;
    jobId: string;
    prev?: string;
    delay?: number;
    progress?: number;
    result?: string;
    failedReason?: string;
    /** Queue and id of the child whose failure failed this job (`failParentOnFailure`). */
    failedChild?: [string, string];
  }[];
}

let redis: Redis;
let keys: Keys;
let queue: Queue;
const workers: Worker[] = [];
const QUEUE = 'contract';

beforeEach(async () => {
  keys = new Keys(`tptest-${randomBytes(4).toString('hex')}`);
  redis = createRedis({ url: REDIS_URL, role: 'worker' });
  queue = new Queue(QUEUE, { connection: redis, prefix: keys.bullPrefix });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
});

async function probe(
  id: string,
  action: 'read' | 'remove' | 'promote' | 'remove-parked' | 'schedule' = 'read',
  ...extra: number[]
): Promise<Probe> {
  const text = (await redis.eval(
    renderLua(PROBE),
    1,
    keys.bullEvents(QUEUE),
    keys.bullKeyPrefix,
    QUEUE,
    id,
    action,
    ...extra,
  )) as string;
  return JSON.parse(text) as Probe;
}

function work(processor: (job: Job) => Promise<unknown>, name = 'w-contract'): Promise<void> {
  return new Promise((resolve) => {
    const worker = new Worker(QUEUE, processor, {
      connection: createRedis({ url: REDIS_URL, role: 'worker' }),
      prefix: keys.bullPrefix,
      name,
      settings: { backoffStrategy: () => 0 },
    });
    worker.on('completed', () => resolve());
    worker.on('failed', (job) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) resolve();
    });
    workers.push(worker);
  });
}

describe('BullMQ storage as bull.lua reads it', () => {
  it('a job that reports progress and completes', async () => {
    await queue.add('sync', { params: { a: 1 } }, { jobId: 'j1', timestamp: 1_700_000_000_000 });
    const done = work(async (job) => {
      await job.updateProgress(40);
      return { ok: true };
    });
    await done;
    const p = await probe('j1');
    expect(p.job).toEqual({
      name: 'sync',
      data: JSON.stringify({ params: { a: 1 } }),
      timestamp: '1700000000000',
      delay: 0,
    });
    expect(p.worker).toBe('w-contract');
    expect(p.state).toBe('finished');
    expect(p.entries.map((e) => e.kind)).toEqual(['added', 'waiting', 'active', 'progress', 'completed']);
    expect(p.entries[1]!.prev).toBeUndefined();
    expect(p.entries[2]).toMatchObject({ prev: 'waiting' });
    expect(p.entries[3]).toMatchObject({ progress: 40 });
    expect(p.entries[4]).toMatchObject({ result: JSON.stringify({ ok: true }) });
  });

  it('failed attempts: retried at once, after a backoff, then failed for good, one reason each', async () => {
    await queue.add('sync', {}, { jobId: 'j2', attempts: 3, backoff: { type: 'custom' } });
    let attempt = 0;
    const done = work(async () => {
      attempt++;
      const error =
        attempt === 3 ? new UnrecoverableError('third') : new Error(attempt === 1 ? 'first' : 'second');
      // What Taskplane's runner does: the stack BullMQ keeps per attempt is the encoded failure.
      error.stack = error.message;
      throw error;
    });
    await done;
    const p = await probe('j2');
    expect(p.reasons).toEqual(['first', 'second', 'third']);
    expect(p.state).toBe('finished');
    // backoffStrategy 0: a failed attempt goes straight back to waiting, said as a move from active
    // (the projection tells it from a hand-back by the failure reason naming the attempt).
    expect(p.entries.map((e) => [e.kind, e.prev])).toEqual([
      ['added', undefined],
      ['waiting', undefined],
      ['active', 'waiting'],
      ['waiting', 'active'],
      ['active', 'waiting'],
      ['waiting', 'active'],
      ['active', 'waiting'],
      ['failed', 'active'],
      ['retries-exhausted', undefined],
    ]);
    expect(p.entries.at(-2)).toMatchObject({ kind: 'failed', failedReason: 'third' });
  });

  it('a child with failParentOnFailure fails its parent, whose reason names the child', async () => {
    const flows = new FlowProducer({ connection: redis, prefix: keys.bullPrefix });
    await flows.add({
      name: 'parent',
      queueName: QUEUE,
      opts: { jobId: 'p1' },
      children: [{ name: 'child', queueName: QUEUE, opts: { jobId: 'c1', failParentOnFailure: true } }],
    });
    await flows.close();
    const parentFailed = new Promise<void>((resolve) => {
      const worker = new Worker(
        QUEUE,
        async (job) => {
          const error = new UnrecoverableError(`${job.id} broke`);
          error.stack = error.message;
          throw error;
        },
        { connection: createRedis({ url: REDIS_URL, role: 'worker' }), prefix: keys.bullPrefix },
      );
      worker.on('failed', (job) => {
        if (job?.id === 'p1') resolve();
      });
      workers.push(worker);
    });
    await parentFailed;
    const [parent, child] = [await probe('p1'), await probe('c1')];
    expect(child.failedReason).toBe('c1 broke');
    // The parent's handler never ran: BullMQ failed it on its next take, naming the child.
    expect(parent.entries.map((e) => e.kind)).toEqual([
      'added',
      'waiting-children',
      'waiting',
      'active',
      'failed',
      'retries-exhausted',
    ]);
    expect(parent.entries[4]!.failedChild).toEqual([QUEUE, 'c1']);
    expect(parent.failedReason).toBe(parent.entries[4]!.failedReason);
  });

  it('a retry after a backoff delay says when it runs, as a timestamp', async () => {
    await queue.add('sync', {}, { jobId: 'j3', attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    let attempt = 0;
    const before = Date.now();
    const done = work(async () => {
      attempt++;
      if (attempt === 1) throw new Error('later');
      return 1;
    });
    await done;
    const p = await probe('j3');
    const delayed = p.entries.find((e) => e.kind === 'delayed');
    expect(delayed?.delay).toBeGreaterThanOrEqual(before + 50);
  });

  it('a delayed job and a removed one', async () => {
    await queue.add('sync', {}, { jobId: 'j4', delay: 60_000 });
    let p = await probe('j4');
    expect(p.job).toMatchObject({ delay: 60_000 });
    expect(p.state).toBe('alive');
    expect(p.entries.map((e) => e.kind)).toEqual(['added', 'delayed']);
    await queue.remove('j4');
    p = await probe('j4');
    expect(p.state).toBe('missing');
    expect(p.entries.at(-1)).toMatchObject({ kind: 'removed' });
  });

  it('removing a finished job the way bull.lua does leaves nothing BullMQ still sees', async () => {
    void work(async (job) => {
      if (job.name === 'bad') throw new UnrecoverableError('no');
      return 'x';
    });
    await queue.add('good', {}, { jobId: 'j5' });
    await queue.add('bad', {}, { jobId: 'j6' });
    await expect.poll(() => queue.getJobState('j5')).toBe('completed');
    await expect.poll(() => queue.getJobState('j6')).toBe('failed');
    for (const id of ['j5', 'j6']) {
      expect((await probe(id, 'remove')).state).toBe('finished');
      expect(await queue.getJob(id)).toBeUndefined();
      expect(
        await redis.exists(`${keys.bullQueue(QUEUE)}:${id}`, `${keys.bullQueue(QUEUE)}:${id}:logs`),
      ).toBe(0);
    }
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  });

  it('a parked job promoted the way bull.lua does is run by BullMQ, in priority order', async () => {
    const park = 10 * 365 * 24 * 3600 * 1000;
    await queue.add('sync', { n: 1 }, { jobId: 'p1', delay: park, priority: 5 });
    await queue.add('sync', { n: 2 }, { jobId: 'p2', delay: park });
    await queue.add('sync', { n: 3 }, { jobId: 'p3', delay: park, priority: 1 });
    expect(await queue.getJobState('p1')).toBe('delayed');
    const ran: string[] = [];
    let finish: () => void = () => {};
    const all = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await queue.pause();
    void work(async (job) => {
      ran.push(job.id!);
      if (ran.length === 3) finish();
      return 1;
    });
    // Promoted while paused: waiting in BullMQ's structures, run once resumed.
    for (const id of ['p1', 'p2', 'p3']) expect((await probe(id, 'promote')).done).toBe(true);
    expect(await queue.getJobCounts('delayed', 'waiting', 'prioritized')).toEqual({
      delayed: 0,
      waiting: 1,
      prioritized: 2,
    });
    expect((await probe('p1', 'promote')).done).toBe(false);
    await queue.resume();
    await all;
    // BullMQ runs plain waiting jobs before prioritized ones, and priority 1 before 5.
    expect(ran).toEqual(['p2', 'p3', 'p1']);
    await expect.poll(() => queue.getJobState('p1')).toBe('completed');
    const p = await probe('p1');
    expect(p.job).toMatchObject({ delay: 0 });
    expect(p.entries.map((e) => [e.kind, e.prev])).toEqual([
      ['added', undefined],
      ['delayed', undefined],
      ['waiting', 'delayed'],
      ['active', 'waiting'],
      ['completed', 'active'],
    ]);
  });

  it('a parked job scheduled the way bull.lua does is run by a waiting worker at that time, not before', async () => {
    await queue.add('sync', {}, { jobId: 'p5', delay: 10 * 365 * 24 * 3600 * 1000 });
    let ranAt = 0;
    const done = work(async () => {
      ranAt = Date.now();
      return 1;
    });
    // The worker is idle and blocked on BullMQ's marker before the job is scheduled.
    await workers[0]!.waitUntilReady();
    const now = Date.now();
    const due = now + 300;
    expect((await probe('p5', 'schedule', due, now)).done).toBe(true);
    expect(await queue.getJobState('p5')).toBe('delayed');
    await done;
    expect(ranAt).toBeGreaterThanOrEqual(due);
    const p = await probe('p5');
    expect(p.entries.map((e) => [e.kind, e.prev])).toEqual([
      ['added', undefined],
      ['delayed', undefined],
      ['delayed', undefined],
      ['waiting', 'delayed'],
      ['active', 'waiting'],
      ['completed', 'active'],
    ]);
    expect(p.entries[2]!.delay).toBe(due);
    expect((await probe('p5', 'schedule', due, now)).done).toBe(false);
  });

  it('a parked job removed the way bull.lua does is gone for BullMQ', async () => {
    await queue.add('sync', {}, { jobId: 'p4', delay: 10 * 365 * 24 * 3600 * 1000 });
    const p = await probe('p4', 'remove-parked');
    expect(p.done).toBe(true);
    expect(await queue.getJob('p4')).toBeUndefined();
    expect(await queue.getJobCounts('delayed')).toEqual({ delayed: 0 });
    expect((await probe('p4')).entries.at(-1)).toMatchObject({ kind: 'removed', prev: 'delayed' });
  });

  it('running jobs are listed newest first; one handed back keeps its priority and says waiting after active', async () => {
    await queue.add('sync', {}, { jobId: 'a1', priority: 7 });
    await queue.add('sync', {}, { jobId: 'a2', priority: 9 });
    let bothRunning: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      bothRunning = resolve;
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    const worker = new Worker(
      QUEUE,
      async (job, token) => {
        started.push(job.id!);
        if (started.length === 2) bothRunning();
        await released;
        if (job.id === 'a1' && started.filter((id) => id === 'a1').length === 1) {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        return 1;
      },
      {
        connection: createRedis({ url: REDIS_URL, role: 'worker' }),
        prefix: keys.bullPrefix,
        concurrency: 2,
      },
    );
    workers.push(worker);
    await running;
    const p = await probe('a1');
    expect(p.active).toEqual({ count: 2, ids: ['a2', 'a1'] });
    release();
    await expect.poll(() => queue.getJobState('a1')).toBe('completed');
    const entries = (await probe('a1')).entries.map((e) => [e.kind, e.prev]);
    expect(entries.slice(0, 4)).toEqual([
      ['added', undefined],
      ['waiting', undefined],
      ['active', 'waiting'],
      ['waiting', 'active'],
    ]);
    expect((await queue.getJob('a1'))!.priority).toBe(7);
    expect((await queue.getJob('a1'))!.attemptsMade).toBe(1);
    expect((await probe('a1')).active.count).toBe(0);
  });
});

describe('adds sent by bull-add.ts', () => {
  it('store the same job as Queue.add, written before the command that follows them', async () => {
    const opts = { jobId: 'p1', timestamp: 1_700_000_000_000, priority: 3, attempts: 2 };
    await queue.add('sync', { params: { a: 1 } }, { ...opts, jobId: 'q1' });
    const [added] = sendAdds(queue, await bullClient(queue), [
      { name: 'sync', data: { params: { a: 1 } }, opts },
    ]);
    // Sent right behind the add: it sees q1's added and waiting events, then p1's.
    const length = redis.xlen(keys.bullEvents(QUEUE));
    expect(await added).toBe('p1');
    expect(await length).toBe(4);
    const [viaQueue, viaSend] = await Promise.all([queue.getJob('q1'), queue.getJob('p1')]);
    expect(viaSend?.data).toEqual(viaQueue?.data);
    expect({ ...viaSend?.opts, jobId: 'q1' }).toEqual(viaQueue?.opts);
    expect(viaSend?.timestamp).toBe(viaQueue?.timestamp);
    expect(viaSend?.priority).toBe(3);
    expect(await queue.getJobState('p1')).toBe(await queue.getJobState('q1'));
  });

  it('a child whose parent is missing is refused with an error, as Queue.add refuses it', async () => {
    const parent = { id: 'nobody', queue: `${keys.bullPrefix}:${QUEUE}` };
    const [added] = sendAdds(queue, await bullClient(queue), [
      { name: 'child', data: {}, opts: { jobId: 'c1', parent } },
    ]);
    const viaQueue = queue.add('child', {}, { jobId: 'c2', parent });
    await expect(added).rejects.toThrow(/parent/i);
    await expect(viaQueue).rejects.toThrow(/parent/i);
    expect(await queue.getJob('c1')).toBeUndefined();
  });
});
