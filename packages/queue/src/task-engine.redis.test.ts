import { ConflictError, compareStreamIds, TERMINAL_EVENT_KINDS, ValidationError } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { trimFinished } from './retention';
import { createHarness, type Harness } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const kindsOf = (events: { taskId: string; kind: string }[], id: string) =>
  events.filter((e) => e.taskId === id).map((e) => e.kind);

describe('task engine', () => {
  it('submits, runs and records a task with its events', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: { tag: 'a' }, labels: { shop: 'abc' } });
    expect(task.status).toBe('pending');
    expect(task.labels).toEqual({ shop: 'abc' });
    // What submit returns is what was recorded.
    const { updatedAt: _returned, ...submitted } = task;
    const { updatedAt: _stored, ...stored } = (await h.engine.store.get(task.id))!;
    expect(stored).toEqual(submitted);
    await h.startWorker();
    const events = await h.waitForEvents((all) => kindsOf(all, task.id).includes('succeeded'));
    expect(kindsOf(events, task.id)).toEqual(['submitted', 'started', 'log', 'succeeded']);
    const done = await h.engine.store.getOrThrow(task.id);
    expect(done.status).toBe('success');
    expect(done.result).toEqual({ tag: 'a', attempt: 1 });
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]!.workerId).toMatch(/^w-/);
    expect(await h.engine.store.logs(task.id)).toMatchObject([{ line: 'attempt 1 starting' }]);
    const cursors = events.map((e) => e.cursor);
    // Numerically: as strings, "...-10" sorts before "...-9".
    expect([...cursors].sort(compareStreamIds)).toEqual(cursors);
  });

  it('rejects bad parameters with field errors and enqueues nothing', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany([
      { type: 'work', params: { sleepMs: -1 } },
      { type: 'nope', params: {} },
      { type: 'work', params: {}, priority: 11 },
      { type: 'work', params: {} },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([false, false, false, true]);
    const fields = outcomes.map((o) => (o.ok ? [] : o.error.fields.map((f) => f.path)));
    expect(fields).toEqual([['params.sleepMs'], ['type'], ['priority'], []]);
    expect(outcomes[0]!.ok ? null : outcomes[0]!.error).toBeInstanceOf(ValidationError);
    expect(await h.engine.queue('work').count()).toBe(1);
  });

  it('returns the same task for a repeated idempotency key, also after it finished', async () => {
    h = await createHarness();
    const first = await h.engine.submit({ type: 'work', params: {}, idempotencyKey: 'order-42' });
    const again = await h.engine.submit({
      type: 'work',
      params: { tag: 'other' },
      idempotencyKey: 'order-42',
    });
    expect(again.created).toBe(false);
    expect(again.task.id).toBe(first.task.id);
    await h.startWorker();
    await h.waitForEvents((all) => kindsOf(all, first.task.id).includes('succeeded'));
    const later = await h.engine.submit({ type: 'work', params: {}, idempotencyKey: 'order-42' });
    expect(later.task.id).toBe(first.task.id);
    expect(later.task.status).toBe('success');
    expect(await h.redis.ttl(h.keys.idempotency('order-42'))).toBeGreaterThan(0);
  });

  it('runs priority 10 before 1, FIFO within a priority and LIFO on request', async () => {
    h = await createHarness({
      queues: {
        work: { concurrency: 1, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
      },
    });
    await h.engine.submitMany([
      { type: 'work', params: { tag: 'p1' }, priority: 1 },
      { type: 'work', params: { tag: 'f1' } },
      { type: 'work', params: { tag: 'f2' } },
      { type: 'work', params: { tag: 'p10' }, priority: 10 },
    ]);
    await h.engine.submit({ type: 'work', params: { tag: 'l1' }, priority: 3, order: 'lifo' });
    await h.engine.submit({ type: 'work', params: { tag: 'l2' }, priority: 3, order: 'lifo' });
    await h.engine.submit({ type: 'work', params: { tag: 'l3' }, priority: 3, order: 'lifo' });
    await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 7);
    expect(h.runs.map((r) => r.tag)).toEqual(['p10', 'f1', 'f2', 'l3', 'l2', 'l1', 'p1']);
  });

  it('does not start a delayed task early', async () => {
    h = await createHarness();
    const runAt = Date.now() + 600;
    const { task } = await h.engine.submit({ type: 'work', params: {}, runAt });
    expect(task.status).toBe('delayed');
    expect(task.runAt).toBeGreaterThanOrEqual(runAt - 5);
    await h.startWorker();
    await h.waitForEvents((all) => kindsOf(all, task.id).includes('succeeded'));
    expect(h.runs[0]!.startedAt).toBeGreaterThanOrEqual(runAt);
  });

  it('retries with exponential backoff and records every attempt', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({
      type: 'work',
      params: { fail: 'until_attempt', untilAttempt: 4 },
      maxAttempts: 5,
      backoff: { baseDelayMs: 100, maxDelayMs: 10_000, jitter: 0 },
    });
    await h.startWorker();
    const events = await h.waitForEvents((all) => kindsOf(all, task.id).includes('succeeded'));
    expect(kindsOf(events, task.id).filter((k) => k === 'retrying')).toHaveLength(3);
    const done = await h.engine.store.getOrThrow(task.id);
    expect(done.attempts.map((a) => a.error?.code ?? null)).toEqual([
      'TRANSIENT',
      'TRANSIENT',
      'TRANSIENT',
      null,
    ]);
    const gaps = done.attempts.slice(1).map((a, i) => a.startedAt! - done.attempts[i]!.finishedAt!);
    // delay = base x 2^(n-1): 100, 200, 400 ms; a start may lag its due time by BullMQ's poll, never lead it.
    [100, 200, 400].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 5);
      expect(gaps[i]).toBeLessThan(expected + 1000);
    });
  });

  it('times an attempt out through its signal and retries it as a timeout', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({
      type: 'work',
      params: { sleepMs: 10_000 },
      timeoutMs: 200,
      maxAttempts: 2,
    });
    await h.startWorker();
    await h.waitForEvents((all) => kindsOf(all, task.id).includes('dead_lettered'));
    const dead = await h.engine.store.getOrThrow(task.id);
    expect(dead.attempts.map((a) => a.error)).toEqual([
      { code: 'TIMEOUT', message: 'attempt ran longer than 200 ms', retryable: true },
      { code: 'TIMEOUT', message: 'attempt ran longer than 200 ms', retryable: true },
    ]);
    // The handler saw the abort (its sleep was cut short, not waited out).
    expect(h.runs.every((r) => r.aborted !== undefined)).toBe(true);
    expect(dead.attempts[0]!.finishedAt! - dead.attempts[0]!.startedAt!).toBeLessThan(2000);
  });

  it('does not retry a permanent failure and dead-letters it with its error', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: { fail: 'permanent' }, maxAttempts: 5 });
    await h.startWorker();
    const events = await h.waitForEvents((all) => kindsOf(all, task.id).includes('dead_lettered'));
    expect(kindsOf(events, task.id)).toEqual(['submitted', 'started', 'log', 'failed', 'dead_lettered']);
    const dead = await h.engine.store.getOrThrow(task.id);
    expect(dead.status).toBe('dead_lettered');
    expect(dead.attempts).toHaveLength(1);
    expect(dead.attempts[0]!.error).toEqual({
      code: 'PERMANENT',
      message: 'upstream said 404',
      retryable: false,
    });
  });

  it('dead-letters an exhausted task with every error, and requeues it from there', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: { fail: 'transient' }, maxAttempts: 3 });
    await h.startWorker();
    await h.waitForEvents((all) => kindsOf(all, task.id).includes('dead_lettered'));
    const dead = await h.engine.store.getOrThrow(task.id);
    expect(dead.attempts.map((a) => a.error)).toEqual(
      Array.from({ length: 3 }, () => ({ code: 'TRANSIENT', message: 'upstream said 503', retryable: true })),
    );
    const list = await h.engine.store.list({ status: ['dead_lettered'] });
    expect(list.tasks.map((t) => t.id)).toEqual([task.id]);

    expect(await h.engine.requeue([task.id], { from: ['dead_lettered'] })).toEqual([null]);
    const events = await h.waitForEvents(
      (all) => kindsOf(all, task.id).filter((k) => k === 'dead_lettered').length === 2,
    );
    expect(kindsOf(events, task.id)).toContain('requeued');
    expect((await h.engine.store.getOrThrow(task.id)).attempts).toHaveLength(6);
    await expect(h.engine.cancel(task.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('cancels a waiting task: removed from its queue, never run', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: {}, delayMs: 60_000 });
    const cancelled = await h.engine.cancel(task.id, 'not needed');
    expect(cancelled.status).toBe('cancelled');
    expect(await h.engine.queue('work').getJob(task.id)).toBeUndefined();
    const events = await h.waitForEvents((all) => kindsOf(all, task.id).includes('cancelled'));
    expect(kindsOf(events, task.id)).toEqual(['submitted', 'cancelled']);
  });

  it('cancels a running task through its signal and does not retry it', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: { sleepMs: 30_000 }, maxAttempts: 3 });
    await h.startWorker();
    await h.waitForEvents((all) => kindsOf(all, task.id).includes('started'));
    await h.engine.cancel(task.id);
    await h.waitForEvents(() => h.runs[0]?.aborted !== undefined);
    const events = await h.waitForEvents((all) => kindsOf(all, task.id).includes('cancelled'));
    expect(kindsOf(events, task.id).filter((k) => TERMINAL_EVENT_KINDS.has(k as never))).toEqual([
      'cancelled',
    ]);
    const job = await h.engine.queue('work').getJob(task.id);
    await expect.poll(() => job?.getState()).toBe('failed');
    const record = await h.engine.store.getOrThrow(task.id);
    expect(record.status).toBe('cancelled');
    expect(record.attempts).toHaveLength(1);
    expect(h.runs).toHaveLength(1);
  });
});

describe('listing', () => {
  it('pages through tasks created in the same millisecond without repeating or skipping one', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 450 }, (_, i) => ({ type: 'work', params: { tag: `l${i}` } })),
    );
    const ids = new Set(outcomes.map((o) => (o.ok ? o.task.id : '')));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await h.engine.store.list({ status: ['pending'] }, { first: 37, after });
      seen.push(...page.tasks.map((t) => t.id));
      after = page.nextCursor;
    } while (after);
    expect(seen).toHaveLength(450);
    expect(new Set(seen)).toEqual(ids);
    expect(await h.engine.store.count({ status: ['pending'], type: ['work'] })).toEqual({
      count: 450,
      exact: true,
    });
  });
});

describe('listing by several indexes', () => {
  it('intersects them in Redis and pages through the result by cursor', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 60 }, (_, i) => ({
        type: 'work',
        params: {},
        labels: { shop: i % 2 ? 'a' : 'b', run: 'x' },
      })),
    );
    const shopA = new Set(
      outcomes.filter((o) => o.ok && o.task.labels.shop === 'a').map((o) => (o.ok ? o.task.id : '')),
    );
    const filter = { labels: { shop: 'a', run: 'x' }, type: ['work'], status: ['pending' as const] };
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await h.engine.store.list(filter, { first: 7, after });
      // Every record read was a match: the intersection did the filtering, not a walk.
      expect(page.scanned).toBe(page.tasks.length);
      seen.push(...page.tasks.map((t) => t.id));
      after = page.nextCursor;
    } while (after);
    expect(seen).toHaveLength(30);
    expect(new Set(seen)).toEqual(shopA);
    expect(await h.engine.store.count(filter)).toEqual({ count: 30, exact: true });
    expect((await h.engine.store.list({ ...filter, status: ['success'] })).tasks).toEqual([]);
  });
});

describe('retention', () => {
  it('trims finished records by count per status and by age, with their indexes', async () => {
    h = await createHarness({ retention: { finished_max_count: 2, finished_max_age: '1h' } });
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 5 }, (_, i) => ({
        type: 'work',
        params: { tag: `r${i}` },
        labels: { keep: 'no' },
      })),
    );
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
    await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 5);
    expect(await trimFinished(h.engine)).toBe(3);
    const left = (await h.engine.store.list({})).tasks.map((t) => t.id);
    expect(left).toHaveLength(2);
    expect(await h.engine.store.count({ status: ['success'] })).toEqual({ count: 2, exact: true });
    expect(await h.engine.store.count({ labels: { keep: 'no' } })).toEqual({ count: 2, exact: true });
    const gone = ids.filter((id) => !left.includes(id));
    expect((await h.engine.store.getMany(gone)).every((t) => t === null)).toBe(true);

    expect(await trimFinished(h.engine, Date.now() + 2 * 3_600_000)).toBe(2);
    expect(await h.engine.store.count({})).toEqual({ count: 0, exact: true });
    expect(await h.redis.exists(h.keys.task(left[0]!), h.keys.taskLog(left[0]!))).toBe(0);
  });

  it('is applied by running workers on retention.interval', async () => {
    h = await createHarness({ retention: { finished_max_count: 3, interval: '200ms' } });
    await h.engine.submitMany(Array.from({ length: 8 }, () => ({ type: 'work', params: {} })));
    await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 8);
    await expect
      .poll(async () => (await h.engine.store.count({ status: ['success'] })).count, { timeout: 5000 })
      .toBe(3);
  });
});
