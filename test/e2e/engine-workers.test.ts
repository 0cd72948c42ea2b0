import { type TaskEvent, TERMINAL_EVENT_KINDS } from '@taskplane/core';
import { listWorkers, type SubmitOutcome } from '@taskplane/queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { maxOverlap, TEST_TYPES_CONFIG, type TestEngine, testEngine } from '../helpers/engine';
import { type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';

// The task engine with real worker processes: crashes, shutdowns, run-time concurrency and rate
// limits, as an operator would meet them.

const kinds = (events: TaskEvent[], id: string) => events.filter((e) => e.taskId === id).map((e) => e.kind);
/** State changes only: log lines are flushed every 100 ms, so a killed worker may not have sent its own. */
const moves = (events: TaskEvent[], id: string) => kinds(events, id).filter((k) => k !== 'log');

let t: TestEngine;
let prefix: string;
const workers: RunningProcess[] = [];

async function worker(): Promise<RunningProcess> {
  const w = await startApp('worker', { prefix, configOverrides: TEST_TYPES_CONFIG });
  workers.push(w);
  await w.waitForLine(/worker ready/, 20_000);
  return w;
}

beforeAll(() => {
  prefix = uniquePrefix('engine');
  t = testEngine(prefix);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 5000)));
});

afterAll(async () => {
  await t.close();
});

/** The id of a submitted task; a refused submit fails the test here, with why, not later as a timeout. */
function submittedId(outcome: SubmitOutcome): string {
  if (!outcome.ok) throw new Error(`submit refused: ${outcome.error.message}`);
  return outcome.task.id;
}

describe('worker processes', () => {
  it('hand the task of a worker killed mid-run to another worker, recording the stall', async () => {
    const first = await worker();
    const { task } = await t.engine.submit({ type: 'sleep', params: { ms: 1500 } });
    const started = await t.waitFor((all) => kinds(all, task.id).includes('started'), 20_000, 'the start');
    const onFirst = started.find((e) => e.taskId === task.id && e.kind === 'started')!;
    await first.kill();
    await worker();
    const events = await t.waitFor(
      (all) => kinds(all, task.id).includes('succeeded'),
      30_000,
      'success elsewhere',
    );
    expect(moves(events, task.id)).toEqual(['submitted', 'started', 'stalled', 'started', 'succeeded']);
    expect(await t.engine.store.logs(task.id)).toContainEqual(
      expect.objectContaining({ line: expect.stringMatching(/^sleeping 1500 ms/) }),
    );
    const record = await t.engine.store.getOrThrow(task.id);
    expect(record.status).toBe('success');
    expect(record.attempts).toHaveLength(2);
    expect(record.attempts[0]).toMatchObject({ stalled: true, workerId: onFirst.data.workerId });
    expect(record.attempts[1]!.workerId).not.toBe(onFirst.data.workerId);
    expect((record.result as { pid: number }).pid).not.toBe(first.pid);
    // Its heartbeat record expires with it: the fleet no longer lists the dead worker.
    await t.waitFor(
      async () => !(await listWorkers(t.engine.redis, t.engine.keys)).some((w) => w.pid === first.pid),
      15_000,
      'the dead worker to vanish',
    );
  });

  it('cancel a task running in another process: its handler is aborted and it is not retried', async () => {
    await worker();
    const { task } = await t.engine.submit({ type: 'sleep', params: { ms: 60_000 }, maxAttempts: 3 });
    await t.waitFor((all) => kinds(all, task.id).includes('started'), 20_000, 'the start');
    await t.engine.cancel(task.id, 'operator changed their mind');
    // The worker reports the aborted handler (BullMQ fails the job, unrecoverable).
    await expect
      .poll(() => t.engine.queue('slow').getJobState(task.id), { timeout: 30_000, interval: 50 })
      .toBe('failed');
    const record = await t.engine.store.getOrThrow(task.id);
    // The handler was cut short: its attempt ended long before its 60 s sleep could have.
    const [run] = record.attempts;
    expect(run!.finishedAt! - run!.startedAt!).toBeLessThan(60_000);
    expect(record.status).toBe('cancelled');
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0]!.error).toMatchObject({ code: 'CANCELLED', retryable: false });
    const job = await t.engine.queue('slow').getJob(task.id);
    expect(job!.attemptsMade).toBe(1);
  });

  it('does not run again a task cancelled while its worker was dead', async () => {
    const first = await worker();
    const { task } = await t.engine.submit({ type: 'sleep', params: { ms: 60_000 }, maxAttempts: 3 });
    await t.waitFor((all) => kinds(all, task.id).includes('started'), 20_000, 'the start');
    await first.kill();
    // Nobody hears this cancel: the worker that held the task is gone.
    await t.engine.cancel(task.id, 'cancelled while its worker was down');
    const second = await worker();
    // The stalled job comes back to the new worker, which refuses it instead of sleeping 60 s.
    await expect
      .poll(() => t.engine.queue('slow').getJobState(task.id), { timeout: 20_000, interval: 100 })
      .toBe('failed');
    const record = await t.engine.store.getOrThrow(task.id);
    expect(record.status).toBe('cancelled');
    expect(record.attempts.at(-1)!.error).toMatchObject({ code: 'CANCELLED' });
    const lines = await t.engine.store.logs(task.id);
    expect(lines.some((l) => l.line.includes(`on ${second.pid}`))).toBe(false);
  });

  it('on SIGTERM, let short tasks finish and hand long ones back; nothing is lost', async () => {
    const leaving = await worker();
    const { task: short } = await t.engine.submit({ type: 'sleep', params: { ms: 300 } });
    const { task: long } = await t.engine.submit({ type: 'sleep', params: { ms: 20_000 } });
    await t.waitFor(
      (all) => kinds(all, short.id).includes('started') && kinds(all, long.id).includes('started'),
      20_000,
      'both started',
    );
    const exit = await leaving.stop('SIGTERM', 10_000);
    expect(exit.code).toBe(0);
    const afterStop = await t.waitFor((all) => kinds(all, long.id).includes('requeued'), 10_000, 'hand-back');
    expect(kinds(afterStop, short.id)).toContain('succeeded');
    expect((await t.engine.store.getOrThrow(long.id)).status).toBe('pending');

    await worker();
    await t.engine.updateQueueSettings('slow', { concurrency: 2 });
    const done = await t.waitFor(
      (all) => kinds(all, long.id).filter((k) => k === 'started').length === 2,
      20_000,
      'rerun',
    );
    expect(moves(done, long.id)).toEqual(['submitted', 'started', 'requeued', 'started']);
    const record = await t.engine.store.getOrThrow(long.id);
    expect(record.attempts.map((a) => a.error)).toEqual([null, null]);
    await t.engine.cancel(long.id, 'test over');
  });

  it('raise concurrency at run time: more tasks run at once, without a restart', async () => {
    await t.engine.updateQueueSettings('slow', { concurrency: 1 });
    await worker();
    const before = await t.engine.submitMany(
      Array.from({ length: 3 }, () => ({ type: 'sleep', params: { ms: 300 } })),
    );
    const ids = before.map(submittedId);
    await t.waitFor((all) => ids.every((id) => kinds(all, id).includes('succeeded')), 20_000, 'first batch');
    const serial = await t.engine.store.getMany(ids);
    expect(maxOverlap(serial.flatMap((task) => task!.attempts))).toBe(1);

    await t.engine.updateQueueSettings('slow', { concurrency: 4 });
    const after = await t.engine.submitMany(
      Array.from({ length: 4 }, () => ({ type: 'sleep', params: { ms: 800 } })),
    );
    const more = after.map(submittedId);
    await t.waitFor(
      (all) => more.every((id) => kinds(all, id).includes('succeeded')),
      20_000,
      'second batch',
    );
    const parallel = await t.engine.store.getMany(more);
    expect(maxOverlap(parallel.flatMap((task) => task!.attempts))).toBe(4);
  });

  it('holds a global concurrency cap across worker processes', async () => {
    await t.engine.updateQueueSettings('slow', { concurrency: 4, globalConcurrency: 2 });
    await Promise.all([worker(), worker()]);
    const outcomes = await t.engine.submitMany(
      Array.from({ length: 6 }, () => ({ type: 'sleep', params: { ms: 400 } })),
    );
    const ids = outcomes.map(submittedId);
    await t.waitFor((all) => ids.every((id) => kinds(all, id).includes('succeeded')), 30_000, 'capped tasks');
    const tasks = await t.engine.store.getMany(ids);
    // Each process alone would run 4 at once (8 together); the cap holds them to 2 in all.
    expect(maxOverlap(tasks.flatMap((task) => task!.attempts))).toBe(2);
    await t.engine.updateQueueSettings('slow', { globalConcurrency: null });
  });

  it('never exceeds a rate limit of N starts per window', async () => {
    const max = 3;
    const durationMs = 1000;
    await t.engine.updateQueueSettings('bulk', { rateLimit: { max, durationMs } });
    await worker();
    const outcomes = await t.engine.submitMany(
      Array.from({ length: 10 }, (_, n) => ({ type: 'noop', params: { n } })),
    );
    const ids = outcomes.map(submittedId);
    await t.waitFor(
      (all) => ids.every((id) => kinds(all, id).includes('succeeded')),
      30_000,
      'rate-limited tasks',
    );
    const starts = (await t.engine.store.getMany(ids))
      .map((task) => task!.attempts[0]!.startedAt!)
      .sort((a, b) => a - b);
    // Window k opens at least k windows after the first start, and holds at most N starts, so
    // start number k*N cannot come earlier than first + k*duration.
    for (let k = 1; k * max < starts.length; k++) {
      expect(starts[k * max]! - starts[0]!).toBeGreaterThanOrEqual(k * durationMs - 5);
    }
    await t.engine.updateQueueSettings('bulk', { rateLimit: null });
  });
});

describe('at volume', () => {
  it('runs 10,000 tasks from several producers exactly once, with one terminal event each', async () => {
    const volume = uniquePrefix('volume');
    const v = testEngine(volume);
    const producers = Array.from({ length: 4 }, () => testEngine(volume));
    try {
      const pool = [
        await startApp('worker', { prefix: volume, configOverrides: TEST_TYPES_CONFIG }),
        await startApp('worker', { prefix: volume, configOverrides: TEST_TYPES_CONFIG }),
      ];
      workers.push(...pool);
      await Promise.all(pool.map((w) => w.waitForLine(/worker ready/, 20_000)));
      const total = 10_000;
      const perProducer = total / producers.length;
      const submitted = await Promise.all(
        producers.map(async (p, i) => {
          const ids: string[] = [];
          for (let offset = 0; offset < perProducer; offset += 500) {
            const batch = Array.from({ length: 500 }, (_, j) => ({
              type: 'noop',
              params: { n: i * perProducer + offset + j },
            }));
            const outcomes = await p.engine.submitMany(batch);
            ids.push(...outcomes.map(submittedId));
          }
          return ids;
        }),
      );
      const ids = submitted.flat();
      expect(new Set(ids).size).toBe(total);
      const terminal = (all: TaskEvent[]) => all.filter((e) => TERMINAL_EVENT_KINDS.has(e.kind));
      const events = await v.waitFor((all) => terminal(all).length >= total, 180_000, 'every task to finish');
      const byTask = new Map<string, number>();
      for (const e of terminal(events)) byTask.set(e.taskId, (byTask.get(e.taskId) ?? 0) + 1);
      expect(byTask.size).toBe(total);
      expect([...byTask.values()].every((n) => n === 1)).toBe(true);
      expect(await v.engine.store.count({})).toEqual({ count: total, exact: true });
      expect(await v.engine.store.count({ status: ['success'] })).toEqual({ count: total, exact: true });
      const started = events.filter((e) => e.kind === 'started');
      expect(started.length).toBe(total);
    } finally {
      await Promise.all(producers.map((p) => p.engine.close()));
      await v.close();
    }
  });
});
