import { createLogger, createRedis, TASK_STATUSES } from '@taskplane/core';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { Projector } from './projector';
import { createHarness, type Harness, REDIS_URL } from './testing/harness';

let h: Harness;
const projectors: Projector[] = [];
afterEach(async () => {
  await Promise.all(projectors.splice(0).map((p) => p.stop()));
  await h?.close();
});

function projector(standbyWhile?: () => Promise<boolean>): Projector {
  const p = new Projector(
    h.engine,
    createRedis({ url: REDIS_URL, role: 'worker' }),
    createLogger('test', 'silent'),
    {
      leaseMs: 600,
      retryMs: 50,
      ...(standbyWhile ? { standbyWhile } : {}),
    },
  );
  projectors.push(p);
  p.start();
  return p;
}

/** A job added with BullMQ alone: only a projector can turn it into a task record. */
async function addBare(tag: string, delay = 60_000, timestamp?: number): Promise<string> {
  const id = `t-bare-${tag}-${Date.now()}`;
  const data = {
    params: { tag },
    labels: {},
    priority: 5,
    order: 'fifo',
    maxAttempts: 1,
    timeoutMs: 1000,
    backoff: { baseDelayMs: 1, maxDelayMs: 1, jitter: 0 },
  };
  await h.engine.queue('work').add('work', data, { jobId: id, delay, ...(timestamp ? { timestamp } : {}) });
  return id;
}

/** Runs the queue's jobs with a bare BullMQ worker (no projector) until `completed` have finished. */
async function runBare(completed: number): Promise<void> {
  const worker = new Worker('work', async () => 'ok', {
    connection: createRedis({ url: REDIS_URL, role: 'worker' }),
    prefix: h.keys.bullPrefix,
  });
  try {
    await expect
      .poll(() => h.redis.zcard(`${h.keys.bullKeyPrefix}work:completed`), { timeout: 5000 })
      .toBe(completed);
  } finally {
    await worker.close();
  }
}

describe('projector leadership', () => {
  it('lets one process apply events, and another take over when it stops', async () => {
    h = await createHarness();
    const [a, b] = [projector(), projector()];
    await expect.poll(() => a.isLeader || b.isLeader).toBe(true);
    expect(a.isLeader && b.isLeader).toBe(false);
    const first = await addBare('one');
    await expect.poll(() => h.engine.store.get(first).then((t) => t?.status)).toBe('delayed');

    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    await leader.stop();
    await expect.poll(() => follower.isLeader, { timeout: 3000 }).toBe(true);
    const second = await addBare('two');
    await expect.poll(() => h.engine.store.get(second).then((t) => t?.status)).toBe('delayed');
  });

  it('replaces a leader that died without letting go, once its lease runs out', async () => {
    h = await createHarness();
    const a = projector();
    await expect.poll(() => a.isLeader).toBe(true);
    // A leader that vanished: its lease stays in Redis until it expires.
    await h.redis.set(h.keys.projectorLease, 'someone-dead', 'PX', 800);
    await expect.poll(() => a.isLeader, { timeout: 3000 }).toBe(false);
    const b = projector();
    const id = await addBare('three');
    await expect.poll(() => a.isLeader || b.isLeader, { timeout: 3000 }).toBe(true);
    await expect.poll(() => h.engine.store.get(id).then((t) => t?.status), { timeout: 3000 }).toBe('delayed');
  });
});

describe('a standby projector (an API process)', () => {
  it('leads only while nobody better is around, and hands the lead over when someone is', async () => {
    h = await createHarness();
    let workerOnline = false;
    const api = projector(async () => workerOnline);
    await expect.poll(() => api.isLeader).toBe(true);
    const first = await addBare('alone');
    await expect.poll(() => h.engine.store.get(first).then((t) => t?.status)).toBe('delayed');

    // A worker comes online: the API lets go and the worker's projector takes over.
    workerOnline = true;
    const worker = projector();
    await expect.poll(() => worker.isLeader, { timeout: 5000 }).toBe(true);
    expect(api.isLeader).toBe(false);
    const second = await addBare('handed-over');
    await expect.poll(() => h.engine.store.get(second).then((t) => t?.status)).toBe('delayed');

    // The worker goes away: the API leads again.
    workerOnline = false;
    await worker.stop();
    await expect.poll(() => api.isLeader, { timeout: 5000 }).toBe(true);
  });
});

describe('recording attempts', () => {
  it('an attempt retried without delay is recorded as a failed attempt, not as a hand-back', async () => {
    h = await createHarness();
    // retryAfterMs 0: the server asked for an immediate retry.
    const { task } = await h.engine.submit({
      type: 'work',
      params: { fail: 'transient', retryAfterMs: 0 },
      maxAttempts: 2,
    });
    await h.startWorker();
    const events = await h.waitForEvents((all) =>
      all.some((e) => e.taskId === task.id && e.kind === 'dead_lettered'),
    );
    expect(events.filter((e) => e.taskId === task.id).map((e) => e.kind)).toEqual([
      'submitted',
      'started',
      'log',
      'retrying',
      'started',
      'log',
      'failed',
      'dead_lettered',
    ]);
    const done = await h.engine.store.getOrThrow(task.id);
    expect(done.attempts.map((a) => a.error?.code)).toEqual(['TRANSIENT', 'TRANSIENT']);
  });
});

describe('a trimmed BullMQ stream', () => {
  it('is reported when entries were dropped before they were applied, not when there is nothing new', async () => {
    h = await createHarness();
    await h.engine.submit({ type: 'work', params: {} });
    // Nothing new since the submit's own projection: no gap to report.
    expect(await h.engine.project('work')).toEqual({ applied: 0, trimmed: false });
    // Two jobs added by BullMQ alone, then the stream trimmed to the last entry: the first job's
    // entries are gone before anyone applied them.
    await addBare('lost');
    await addBare('kept');
    await h.redis.xtrim(h.keys.bullEvents('work'), 'MAXLEN', 1);
    const outcome = await h.engine.project('work');
    expect(outcome.trimmed).toBe(true);
    expect(outcome.applied).toBe(1);
  });

  it('is reported behind a backlog longer than a call reads from the newest end first', async () => {
    h = await createHarness();
    await h.engine.submit({ type: 'work', params: {} });
    // Four jobs (eight entries) after the checkpoint, the stream trimmed to the last six: the
    // checkpoint's entry and the first job's are gone, and the rest is more than the first read.
    const ids = [];
    for (const tag of ['lost', 'a', 'b', 'c']) ids.push(await addBare(tag));
    await h.redis.xtrim(h.keys.bullEvents('work'), 'MAXLEN', 6);
    const outcome = await h.engine.project('work');
    expect(outcome).toEqual({ applied: 6, trimmed: true });
    const statuses = await Promise.all(ids.map((id) => h.engine.store.get(id).then((t) => t?.status)));
    expect(statuses).toEqual([undefined, 'delayed', 'delayed', 'delayed']);
  });
});

describe('status indexes', () => {
  /** The statuses whose index holds `id`. */
  async function indexedUnder(id: string): Promise<string[]> {
    const scores = await Promise.all(TASK_STATUSES.map((s) => h.redis.zscore(h.keys.indexStatus(s), id)));
    return TASK_STATUSES.filter((_, i) => scores[i] !== null);
  }

  it('list a task under its final status alone, whether its moves were applied in one call or several', async () => {
    h = await createHarness();
    // `seen` is recorded pending first; `unseen` is first recorded after it already finished.
    const seen = await addBare('seen', 0);
    await h.engine.project('work');
    expect(await indexedUnder(seen)).toEqual(['pending']);
    const unseen = await addBare('unseen', 0);
    // BullMQ alone runs both; one projection call then applies start and finish together.
    await runBare(2);
    const { applied } = await h.engine.project('work');
    expect(applied).toBeGreaterThanOrEqual(5);
    for (const id of [seen, unseen]) {
      expect(await h.engine.store.get(id).then((t) => t?.status)).toBe('success');
      expect(await indexedUnder(id)).toEqual(['success']);
      expect(await h.redis.zscore(h.keys.indexFinished, id)).not.toBeNull();
    }
  });
});

describe('times and numbers on records, indexes and events', () => {
  it('are written exactly as BullMQ and its event stream gave them, fractions as fractions', async () => {
    h = await createHarness();
    const createdAt = 1_700_000_000_123;
    const id = await addBare('times', 0, createdAt);
    let progressed!: () => void;
    const reported = new Promise<void>((resolve) => {
      progressed = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = new Worker(
      'work',
      async (job) => {
        await job.updateProgress(40.5);
        progressed();
        await released;
        return 'ok';
      },
      { connection: createRedis({ url: REDIS_URL, role: 'worker' }), prefix: h.keys.bullPrefix },
    );
    try {
      // Recorded while running: the fraction is the record's progress.
      await reported;
      await h.engine.project('work');
      expect(await h.redis.hget(h.keys.task(id), 'progress')).toBe('40.5');
      release();
      await expect
        .poll(() => h.redis.zscore(`${h.keys.bullKeyPrefix}work:completed`, id), { timeout: 5000 })
        .not.toBeNull();
    } finally {
      await worker.close();
    }
    await h.engine.project('work');
    // The times of BullMQ's entries (an entry id starts with its time in ms).
    const entries = await h.redis.xrange(h.keys.bullEvents('work'), '-', '+');
    const at = (kind: string) => entries.find(([, f]) => f[1] === kind && f[3] === id)![0].split('-')[0]!;
    const record = await h.redis.hgetall(h.keys.task(id));
    expect(record.createdAt).toBe(String(createdAt));
    expect((await h.engine.store.get(id))?.startedAt).toBe(Number(at('active')));
    expect(record.finishedAt).toBe(at('completed'));
    expect(record.updatedAt).toBe(at('completed'));
    // The last progress the handler reported, as it reported it; a success reads as 100.
    expect(record.progress).toBe('40.5');
    expect((await h.engine.store.get(id))?.progress).toBe(100);
    expect(JSON.parse(record.attempts!)[0].slice(0, 3)).toEqual([
      1,
      Number(at('active')),
      Number(at('completed')),
    ]);
    expect(await h.redis.zscore(h.keys.indexStatus('success'), id)).toBe(String(createdAt));
    expect(await h.redis.zscore(h.keys.indexFinished, id)).toBe(at('completed'));
    // Each event carries its time as text, and the progress event its fraction.
    const events = (await h.redis.xrange(h.keys.events, '-', '+')).filter(([, f]) => f[3] === id);
    const field = (f: string[], name: string) => f[f.indexOf(name) + 1];
    expect(events.map(([, f]) => [field(f, 'k'), field(f, 'at')])).toEqual([
      ['submitted', at('added')],
      ['started', at('active')],
      ['progress', at('progress')],
      ['succeeded', at('completed')],
    ]);
    const progress = events.find(([, f]) => field(f, 'k') === 'progress')!;
    expect(JSON.parse(field(progress[1], 'd')!)).toEqual({ progress: 40.5 });
  });
});

describe('the event stream cap', () => {
  it('holds after projection calls that each write more events than the cap', async () => {
    h = await createHarness({ events: { stream_max_len: 1000 } });
    // 1,600 submits, projected in calls of 200 BullMQ entries (100 tasks, 100 events) each.
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 1600 }, (_, n) => ({ type: 'work', params: { tag: String(n) } })),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // Trimming with `~` drops whole stream nodes (100 entries each): what is left is the cap and
    // at most a node's worth more, not the 1,600 written.
    expect(await h.redis.xlen(h.keys.events)).toBeLessThan(1100);
    // The newest events are the ones kept: the last task's submit is the last entry.
    const last = outcomes[1599]!;
    const [entry] = await h.redis.xrevrange(h.keys.events, '+', '-', 'COUNT', 1);
    const newest = entry![1];
    expect(newest[newest.indexOf('id') + 1]).toBe(last.ok ? last.task.id : undefined);
  });
});

describe('loading a record', () => {
  it('reads every field of a record written without its list of optional fields (before it existed)', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: {}, labels: { shop: 'x' } });
    expect(await h.redis.hget(h.keys.task(task.id), 'o')).toBe('l');
    await h.redis.hdel(h.keys.task(task.id), 'o');
    await runBare(1);
    await h.engine.project('work');
    expect(await h.engine.store.get(task.id).then((t) => t?.status)).toBe('success');
    // The labels are an optional field: read, they go out with each event.
    const events = (await h.redis.xrange(h.keys.events, '-', '+')).filter(([, f]) => f[3] === task.id);
    const field = (f: string[], name: string) => f[f.indexOf(name) + 1];
    expect(events.map(([, f]) => [field(f, 'k'), field(f, 'l')])).toEqual([
      ['submitted', '{"shop":"x"}'],
      ['started', '{"shop":"x"}'],
      ['succeeded', '{"shop":"x"}'],
    ]);
  });

  it('lists the optional fields a record has, from its creation and as they are written', async () => {
    h = await createHarness();
    /** The codes in a record's `o`, sorted (null: none). */
    const codes = async (id: string) => {
      const o = await h.redis.hget(h.keys.task(id), 'o');
      return o === null ? null : [...o].sort().join('');
    };
    const { task } = await h.engine.submit({ type: 'work', params: {} });
    expect(await codes(task.id)).toBe('');
    const { task: grouped } = await h.engine.submit({ type: 'work', params: {}, group: 'g' });
    expect(await codes(grouped.id)).toBe('g');
    const { task: labelled } = await h.engine.submit({ type: 'work', params: {}, labels: { shop: 'x' } });
    expect(await codes(labelled.id)).toBe('l');
    // Run again by hand, it gets a run start and a resume count.
    await h.engine.cancel(task.id);
    await h.engine.retry(task.id);
    expect(await codes(task.id)).toBe('rs');
    expect(await h.engine.store.get(task.id).then((t) => t?.status)).toBe('pending');
  });
});
