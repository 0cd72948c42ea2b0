// Fair groups in process (engine + WorkerHost, real Redis and BullMQ): per-group limits as the
// handlers see them, cancel and requeue of grouped tasks, counts, and that ungrouped tasks go on
// as before. The acceptance with real worker processes is test/e2e/groups.test.ts.
import { ValidationError } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type RunRecord } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const WORK = { concurrency: 6, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null };

function withGroups(groups: Record<string, unknown>) {
  return { queues: { work: { ...WORK, groups } } };
}

/** The most runs of one tag that were inside their handlers at the same time. */
function mostAtOnce(runs: RunRecord[], tag: string): number {
  const points = runs
    .filter((r) => r.tag === tag)
    .flatMap((r) => [
      [r.startedAt, 1],
      [r.endedAt ?? Number.POSITIVE_INFINITY, -1],
    ])
    .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, delta] of points) {
    now += delta!;
    most = Math.max(most, now);
  }
  return most;
}

function ids(outcomes: Awaited<ReturnType<Harness['engine']['submitMany']>>): string[] {
  return outcomes.map((o) => {
    if (!o.ok) throw o.error;
    return o.task.id;
  });
}

const succeeded = (all: { taskId: string; kind: string }[], list: string[]) =>
  list.every((id) => all.some((e) => e.taskId === id && e.kind === 'succeeded'));

describe('fair groups', () => {
  it('never runs more tasks of one group at once than its concurrency limit', async () => {
    h = await createHarness(withGroups({ concurrency: 2 }));
    await h.startWorker();
    const tasks = ids(
      await h.engine.submitMany(
        ['a', 'b'].flatMap((group) =>
          Array.from({ length: 8 }, () => ({ type: 'work', params: { sleepMs: 80, tag: group }, group })),
        ),
      ),
    );
    await h.waitForEvents((all) => succeeded(all, tasks), 30_000);
    expect(mostAtOnce(h.runs, 'a')).toBe(2);
    expect(mostAtOnce(h.runs, 'b')).toBe(2);
    // The two groups ran side by side: the limit is per group, not per queue.
    const both = h.runs.map((r) => ({ ...r, tag: 'any' }));
    expect(mostAtOnce(both, 'any')).toBe(4);
    const page = await h.engine.groups('work', 100);
    expect(page.groups).toEqual([]);
  });

  it('starts at most N tasks of a group in any window of its rate limit', async () => {
    h = await createHarness(withGroups({ rate_limit: { max: 2, duration: '400ms' } }));
    await h.startWorker();
    const tasks = ids(
      await h.engine.submitMany(
        Array.from({ length: 7 }, () => ({ type: 'work', params: { tag: 'r' }, group: 'limited' })),
      ),
    );
    const free = ids(await h.engine.submitMany([{ type: 'work', params: { tag: 'free' }, group: 'other' }]));
    await h.waitForEvents((all) => succeeded(all, [...tasks, ...free]), 30_000);
    const starts = (await h.engine.store.getMany(tasks)).map((t) => t!.startedAt!).sort((a, b) => a - b);
    // Start k+2 comes at least one window after start k.
    const gaps = starts.slice(2).map((at, k) => at - starts[k]!);
    console.log(`group rate limit 2 per 400 ms: gaps between start k and k+2 = ${gaps.join(', ')} ms`);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(400);
    // Another group is not held back by it.
    const other = (await h.engine.store.getOrThrow(free[0]!)).startedAt!;
    expect(other).toBeLessThan(starts[2]!);
  });

  it('leaves ungrouped tasks alone while a group waits at its limit', async () => {
    h = await createHarness(withGroups({ concurrency: 1 }));
    await h.startWorker();
    const grouped = ids(
      await h.engine.submitMany(
        Array.from({ length: 5 }, () => ({
          type: 'work',
          params: { sleepMs: 150, tag: 'g' },
          group: 'busy',
        })),
      ),
    );
    const { task: plain } = await h.engine.submit({ type: 'work', params: { tag: 'plain' } });
    expect(plain.group).toBeNull();
    expect(plain.status).toBe('pending');
    await h.waitForEvents((all) => succeeded(all, [plain.id]));
    const done = (await h.events()).filter((e) => e.kind === 'succeeded' && grouped.includes(e.taskId));
    // The plain task did not wait for the group's backlog (one at a time, 150 ms each).
    expect(done.length).toBeLessThan(3);
    const record = await h.engine.store.getOrThrow(plain.id);
    expect(record.group).toBeNull();
    expect(await h.redis.exists(h.keys.task(plain.id))).toBe(1);
    await h.waitForEvents((all) => succeeded(all, grouped), 30_000);
    expect(mostAtOnce(h.runs, 'g')).toBe(1);
  });

  it('starts the waiting tasks of a group as soon as its limit is raised, not when a running one ends', async () => {
    h = await createHarness(withGroups({ concurrency: 1 }));
    await h.startWorker();
    const tasks = ids(
      await h.engine.submitMany(
        Array.from({ length: 3 }, () => ({
          type: 'work',
          params: { sleepMs: 60_000, tag: 'g' },
          group: 'shop',
        })),
      ),
    );
    const started = (all: { taskId: string; kind: string }[]) =>
      new Set(all.filter((e) => e.kind === 'started' && tasks.includes(e.taskId)).map((e) => e.taskId)).size;
    await h.waitForEvents((all) => started(all) === 1);
    expect((await h.engine.groups('work', 10)).groups).toEqual([
      { name: 'shop', waiting: 2, queued: 0, running: 1, inFlight: 1 },
    ]);

    await h.engine.updateQueueSettings('work', { groups: { concurrency: 3 } });
    await h.waitForEvents((all) => started(all) === 3);
    // The first task is still running (a minute long): the raise itself started the other two.
    // (A task's `started` event can reach us before its worker has called the handler.)
    await expect.poll(() => h.runs.filter((r) => r.tag === 'g' && r.endedAt === undefined)).toHaveLength(3);
    expect((await h.engine.groups('work', 10)).groups).toEqual([
      { name: 'shop', waiting: 0, queued: 0, running: 3, inFlight: 3 },
    ]);
  });

  it('cancels a parked grouped task: it never runs, and its group moves on', async () => {
    h = await createHarness(withGroups({ concurrency: 1 }));
    const [first, parked, last] = ids(
      await h.engine.submitMany(
        ['first', 'parked', 'last'].map((tag) => ({
          type: 'work',
          params: { sleepMs: 100, tag },
          group: 'shop-1',
        })),
      ),
    );
    let page = await h.engine.groups('work', 10);
    expect(page.groups).toEqual([{ name: 'shop-1', waiting: 2, queued: 1, running: 0, inFlight: 1 }]);
    const cancelled = await h.engine.cancel(parked!);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.group).toBe('shop-1');
    page = await h.engine.groups('work', 10);
    expect(page.groups).toEqual([{ name: 'shop-1', waiting: 1, queued: 1, running: 0, inFlight: 1 }]);
    expect(await h.engine.queue('work').getJob(parked!)).toBeUndefined();
    await h.startWorker();
    await h.waitForEvents((all) => succeeded(all, [first!, last!]));
    expect(h.runs.map((r) => r.tag)).toEqual(['first', 'last']);
    expect(await h.redis.zcard(h.keys.groupLane('work', 'shop-1'))).toBe(0);
    expect((await h.engine.groups('work', 10)).groups).toEqual([]);
  });

  it('runs a group in priority order, and lets an urgent grouped task past the window', async () => {
    h = await createHarness({
      queues: { work: { ...WORK, preemption: { below: 9 }, groups: { concurrency: 1, window: 1 } } },
    });
    const submit = (tag: string, priority: number, group = 'p') =>
      h.engine.submit({ type: 'work', params: { tag }, priority, group });
    await submit('first', 1);
    await submit('low', 2);
    await submit('high', 8);
    await submit('other', 5, 'q');
    // The window holds one grouped task waiting in BullMQ: only 'first' was taken.
    const counts = async () =>
      Object.fromEntries(
        (await h.engine.groups('work', 10)).groups.map((g) => [g.name, [g.waiting, g.queued]]),
      );
    expect(await counts()).toEqual({ p: [2, 1], q: [1, 0] });
    // Urgent (at the preemption threshold): taken at once, past the full window, within its group's
    // limit (group 'u' has nothing in flight).
    await submit('urgent', 9, 'u');
    expect(await counts()).toEqual({ p: [2, 1], q: [1, 0], u: [0, 1] });
    await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 5);
    const order = h.runs.map((r) => r.tag);
    expect(order.filter((t) => t !== 'other' && t !== 'urgent')).toEqual(['first', 'high', 'low']);
  });

  it('runs a grouped task again by hand through its group', async () => {
    h = await createHarness(withGroups({ concurrency: 1 }));
    await h.startWorker();
    const { task } = await h.engine.submit({
      type: 'work',
      params: { fail: 'permanent', tag: 'again' },
      group: 'g1',
    });
    await h.waitForEvents((all) => all.some((e) => e.taskId === task.id && e.kind === 'dead_lettered'));
    await h.engine.retry(task.id);
    await h.waitForEvents(
      (all) => all.filter((e) => e.taskId === task.id && e.kind === 'dead_lettered').length === 2,
    );
    expect(h.runs.filter((r) => r.tag === 'again')).toHaveLength(2);
    expect((await h.engine.groups('work', 10)).groups).toEqual([]);
  });

  it('refuses a bad group with a ValidationError naming it', async () => {
    h = await createHarness();
    for (const group of ['', 'a:b', 'x'.repeat(129), 'shop 1']) {
      await expect(h.engine.submit({ type: 'work', params: {}, group })).rejects.toMatchObject({
        name: 'ValidationError',
        fields: [{ path: 'group' }],
      });
    }
    const delayed = h.engine.submit({ type: 'work', params: {}, group: 'g', delayMs: 10 });
    await expect(delayed).rejects.toBeInstanceOf(ValidationError);
    await expect(delayed).rejects.toMatchObject({ fields: [{ path: 'group' }] });
    // A workflow node that waits for another cannot be grouped either; nothing of the workflow is added.
    const nodes = await h.engine.submitMany(
      [
        { type: 'work', params: {}, group: 'g' },
        { type: 'work', params: {}, group: 'g' },
      ],
      {
        workflow: {
          id: 'wf1',
          name: 'w',
          nodes: [
            { key: 'a', dependsOn: [] },
            { key: 'b', dependsOn: ['a'] },
          ],
        },
      },
    );
    expect(nodes[1]).toMatchObject({ ok: false, error: { fields: [{ path: 'group' }] } });
    expect(await h.engine.queue('work').count()).toBe(0);
  });
});
