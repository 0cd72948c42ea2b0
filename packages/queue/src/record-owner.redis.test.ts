import { FINAL_STATUSES, type TaskStatus } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { trimFinished } from './retention';
import { createHarness, type Harness } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function deadLetters(count: number): Promise<string[]> {
  const outcomes = await h.engine.submitMany(
    Array.from({ length: count }, () => ({ type: 'work', params: { fail: 'permanent' } })),
  );
  const ids = outcomes.map((o) => (o.ok ? o.task.id : expect.unreachable(o.error.message)));
  const host = await h.startWorker();
  await h.waitForEvents((all) => all.filter((e) => e.kind === 'dead_lettered').length === count);
  await host.stop();
  return ids;
}

/** Every index entry under the test's prefix whose record is missing (a test may scan; code may not). */
async function danglingIndexEntries(): Promise<string[]> {
  const dangling: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await h.redis.scan(cursor, 'MATCH', `${h.keys.indexPrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      for (const id of await h.redis.zrange(key, 0, -1)) {
        if (!(await h.redis.exists(h.keys.task(id)))) dangling.push(`${key} -> ${id}`);
      }
    }
  } while (cursor !== '0');
  return dangling;
}

describe('one owner of the task record', () => {
  it('a purge racing a requeue of the same dead letters deletes no task about to run and leaves no dangling index entry', async () => {
    h = await createHarness();
    const ids = await deadLetters(60);
    // Each dead letter is requeued and purged at the same time, in both orders of sending.
    await Promise.all(
      ids.map((id, i) => {
        const requeue = () => h.engine.requeue([id], { from: ['dead_lettered'] });
        const purge = () => h.engine.deleteTasks([id], { statuses: ['dead_lettered'] });
        return i % 2 ? Promise.all([requeue(), purge()]) : Promise.all([purge(), requeue()]);
      }),
    );
    await h.engine.project('work');
    const events = await h.events();
    const queue = h.engine.queue('work');
    let alive = 0;
    let deleted = 0;
    for (const id of ids) {
      const record = await h.engine.store.get(id);
      const state = await queue.getJobState(id);
      const jobAlive = ['waiting', 'prioritized', 'delayed', 'active'].includes(state);
      if (record) {
        // Whoever won, the record and BullMQ agree: pending with a job, or still dead with none alive.
        expect({ id, status: record.status, jobAlive }).toEqual({
          id,
          status: jobAlive ? 'pending' : 'dead_lettered',
          jobAlive,
        });
        if (jobAlive) alive++;
      } else {
        // Gone for good: no job left to run it, and subscribers were told.
        expect({ id, jobAlive }).toEqual({ id, jobAlive: false });
        const last = events.filter((e) => e.taskId === id).at(-1)!;
        expect(last).toMatchObject({ kind: 'deleted', status: 'dead_lettered' });
        deleted++;
      }
    }
    expect(alive + deleted).toBeGreaterThan(0);
    expect(await danglingIndexEntries()).toEqual([]);
    // Every deletion is announced once, with the status the task had.
    const deletions = events.filter((e) => e.kind === 'deleted');
    expect(new Set(deletions.map((e) => e.taskId)).size).toBe(deletions.length);
    expect(deletions.every((e) => FINAL_STATUSES.has(e.status as TaskStatus))).toBe(true);
  });

  it('refuses to delete a dead letter whose job BullMQ already runs again, before the record says so', async () => {
    h = await createHarness();
    const [id] = await deadLetters(1);
    const task = (await h.engine.store.getOrThrow(id!))!;
    // What a requeue does to BullMQ, with the projection not yet caught up: the record still says
    // dead_lettered while a new job waits.
    const queue = h.engine.queue('work');
    await queue.remove(task.id);
    await queue.add(task.type, { ...task, params: {} } as never, { jobId: task.id });
    expect((await h.redis.hget(h.keys.task(task.id), 'status')) as string).toBe('dead_lettered');
    expect(await h.engine.deleteTasks([task.id], { statuses: ['dead_lettered'] })).toEqual(['refused']);
    expect(await queue.getJobState(task.id)).toBe('waiting');
    await h.engine.project('work');
    expect((await h.engine.store.getOrThrow(task.id)).status).toBe('pending');
  });

  it('deletes a finished task with its log, indexes, idempotency key and BullMQ job, and announces it', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({
      type: 'work',
      params: {},
      idempotencyKey: 'once',
      labels: { a: 'b' },
    });
    const host = await h.startWorker();
    await h.waitForEvents((all) => all.some((e) => e.taskId === task.id && e.kind === 'succeeded'));
    await host.stop();
    expect(await h.redis.exists(h.keys.idempotency('once'))).toBe(1);
    expect(await h.engine.queue('work').getJob(task.id)).toBeDefined();

    expect(await h.engine.deleteTasks([task.id], { statuses: ['dead_lettered'] })).toEqual(['refused']);
    expect(await h.engine.deleteTasks([task.id])).toEqual(['deleted']);
    expect(await h.engine.store.get(task.id)).toBeNull();
    expect(await h.engine.store.logs(task.id)).toEqual([]);
    expect(await h.redis.exists(h.keys.idempotency('once'))).toBe(0);
    expect(await h.engine.queue('work').getJob(task.id)).toBeUndefined();
    expect((await h.engine.queue('work').getJobCounts('completed')).completed).toBe(0);
    expect(await danglingIndexEntries()).toEqual([]);
    expect((await h.events()).at(-1)).toMatchObject({ kind: 'deleted', taskId: task.id, status: 'success' });
    // A second delete finds nothing and announces nothing more.
    expect(await h.engine.deleteTasks([task.id])).toEqual(['missing']);
    expect((await h.events()).filter((e) => e.kind === 'deleted')).toHaveLength(1);
    // The idempotency key is free again: the same key makes a new task.
    const again = await h.engine.submit({ type: 'work', params: {}, idempotencyKey: 'once' });
    expect(again.created).toBe(true);
    expect(again.task.id).not.toBe(task.id);
  });

  it('refuses to delete an unfinished task', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: {} });
    expect(await h.engine.deleteTasks([task.id])).toEqual(['refused']);
    expect((await h.engine.store.getOrThrow(task.id)).status).toBe('pending');
  });

  it('retention deletes through the same script: one deleted event per task, no dangling entries', async () => {
    h = await createHarness({ retention: { finished_max_count: 1 } });
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 4 }, () => ({ type: 'work', params: {} })),
    );
    const host = await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 4);
    await host.stop();
    expect(await trimFinished(h.engine)).toBe(3);
    const deleted = (await h.events()).filter((e) => e.kind === 'deleted').map((e) => e.taskId);
    expect(deleted).toHaveLength(3);
    const kept = outcomes.map((o) => (o.ok ? o.task.id : '')).filter((id) => !deleted.includes(id));
    expect(kept).toHaveLength(1);
    expect(await danglingIndexEntries()).toEqual([]);
  });
});

describe('the dead-letter queue', () => {
  it('lists dead letters by when they were dead-lettered, newest first, paging by cursor', async () => {
    h = await createHarness();
    // A is created first but dies last (it is retried once after a backoff); B dies at once.
    const a = await h.engine.submit({ type: 'work', params: { fail: 'transient' }, maxAttempts: 2 });
    const b = await h.engine.submit({ type: 'work', params: { fail: 'permanent' } });
    const host = await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'dead_lettered').length === 2);
    await host.stop();
    const filter = { status: ['dead_lettered' as const] };
    const first = await h.engine.store.list(filter, { first: 1, order: 'deadLettered' });
    expect(first.tasks.map((t) => t.id)).toEqual([a.task.id]);
    const second = await h.engine.store.list(filter, {
      first: 1,
      after: first.nextCursor,
      order: 'deadLettered',
    });
    expect(second.tasks.map((t) => t.id)).toEqual([b.task.id]);
    // By creation the order is the other way round.
    expect((await h.engine.store.list(filter)).tasks.map((t) => t.id)).toEqual([b.task.id, a.task.id]);
    // Requeued, a task leaves the dead-letter order too.
    await h.engine.requeue([a.task.id]);
    expect((await h.engine.store.list(filter, { order: 'deadLettered' })).tasks.map((t) => t.id)).toEqual([
      b.task.id,
    ]);
    expect(await h.redis.zcard(h.keys.indexDeadLettered)).toBe(1);
  });
});
