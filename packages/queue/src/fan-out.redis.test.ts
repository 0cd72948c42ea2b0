import type { AggregatedResult, TaskEvent } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const ok = (tag: string) => ({ type: 'work', params: { tag } });
const failing = (tag: string) => ({ type: 'work', params: { tag, fail: 'permanent' } });
const finished = (id: string) => (all: TaskEvent[]) =>
  all.some((e) => e.taskId === id && (e.kind === 'succeeded' || e.kind === 'dead_lettered'));
const childrenOf = async (id: string) => h.engine.store.children(id, 100);

describe('fan-out policies', () => {
  it('CONTINUE (default): the parent runs again, and its result counts the failed child', async () => {
    h = await createHarness();
    await h.startWorker();
    const { task } = await h.engine.submit({
      type: 'fan',
      params: { children: [ok('a'), failing('b'), ok('c')] },
    });
    await h.waitForEvents(finished(task.id));
    const parent = await h.engine.store.getOrThrow(task.id);
    expect(parent.status).toBe('success');
    expect(parent.onChildFailure).toBe('continue');
    const children = await childrenOf(task.id);
    const byTag = new Map(children.map((c) => [c.params.tag, c]));
    const result = parent.result as AggregatedResult;
    expect(result).toEqual({
      total: 3,
      succeeded: 2,
      failed: 1,
      ignored: 0,
      results: {
        [byTag.get('a')!.id]: { tag: 'a', attempt: 1 },
        [byTag.get('c')!.id]: { tag: 'c', attempt: 1 },
      },
      truncated: false,
    });
    expect(h.runs.filter((r) => r.taskId === task.id).map((r) => r.tag)).toEqual(['fan', 'fan:resumed']);
  });

  it('FAIL_PARENT (the task default): a failed child fails the parent, whose record says why', async () => {
    h = await createHarness();
    await h.startWorker();
    // A child that fails while its parent waits (BullMQ fails the parent), and one that fails
    // before its parent could wait (the runner fails it): both records read alike.
    const submit = (sleepMs: number) =>
      h.engine.submit({
        type: 'fan',
        params: { children: [{ type: 'work', params: { fail: 'permanent', sleepMs } }] },
        onChildFailure: 'fail_parent',
      });
    const [{ task: waited }, { task: fast }] = await Promise.all([submit(500), submit(0)]);
    await h.waitForEvents((all) => finished(waited.id)(all) && finished(fast.id)(all));
    for (const id of [waited.id, fast.id]) {
      const parent = await h.engine.store.getOrThrow(id);
      const [child] = await childrenOf(id);
      expect(parent.status).toBe('dead_lettered');
      expect(parent.onChildFailure).toBe('fail_parent');
      // The attempt that fanned out carries the child's failure; the handler never ran again.
      expect(parent.attempts).toHaveLength(1);
      expect(parent.attempts[0]!.error).toEqual({
        code: 'CHILD_FAILED',
        message: `child ${child!.id} failed: upstream said 404`,
        retryable: false,
      });
      expect(h.runs.filter((r) => r.taskId === id).map((r) => r.tag)).toEqual(['fan']);
    }
    const kinds = (await h.events()).filter((e) => e.taskId === waited.id).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'started', 'blocked', 'ready', 'started', 'failed', 'dead_lettered']);
  });

  it('IGNORE (fanOut option): failed children are left out, even when every child failed', async () => {
    h = await createHarness();
    await h.startWorker();
    const { task: some } = await h.engine.submit({
      type: 'fan',
      params: { children: [ok('a'), failing('b')], onChildFailure: 'ignore', returns: 'outcomes' },
    });
    const { task: none } = await h.engine.submit({
      type: 'fan',
      params: { children: [failing('c'), failing('d')], onChildFailure: 'ignore' },
    });
    await h.waitForEvents((all) => finished(some.id)(all) && finished(none.id)(all));
    const [first, second] = await h.engine.store.getMany([some.id, none.id]);
    const [a] = (await childrenOf(some.id)).filter((c) => c.params.tag === 'a');
    expect(first!.status).toBe('success');
    expect(first!.result).toEqual([
      { id: a!.id, status: 'success', result: { tag: 'a', attempt: 1 }, error: null },
    ]);
    // No outcome left to read is still the run after the fan-out, not a first run fanning out again.
    expect(second!.status).toBe('success');
    expect(second!.result).toEqual({
      total: 2,
      succeeded: 0,
      failed: 0,
      ignored: 2,
      results: {},
      truncated: false,
    });
    expect(await childrenOf(none.id)).toHaveLength(2);
  });

  it('runs children at the parent priority minus one, unless a child sets its own', async () => {
    h = await createHarness();
    const { task: high } = await h.engine.submit({
      type: 'fan',
      priority: 8,
      params: { children: [ok('a'), { ...ok('b'), priority: 10 }] },
    });
    const { task: low } = await h.engine.submit({
      type: 'fan',
      priority: 1,
      params: { children: [ok('c')] },
    });
    await h.startWorker();
    await h.waitForEvents((all) => finished(high.id)(all) && finished(low.id)(all));
    const priorities = async (id: string) =>
      Object.fromEntries((await childrenOf(id)).map((c) => [c.params.tag, c.priority]));
    expect(await priorities(high.id)).toEqual({ a: 7, b: 10 });
    // Never below the lowest priority.
    expect(await priorities(low.id)).toEqual({ c: 1 });
  });

  it('runs a nested flow: a child that fans out runs its grandchildren, and both levels finish', async () => {
    h = await createHarness();
    await h.startWorker();
    const { task } = await h.engine.submit({
      type: 'fan',
      params: { children: [ok('a'), { type: 'fan', params: { children: [ok('g1'), ok('g2')] } }] },
    });
    await h.waitForEvents(finished(task.id));
    const parent = await h.engine.store.getOrThrow(task.id);
    const children = await childrenOf(task.id);
    const inner = children.find((c) => c.type === 'fan')!;
    const grandchildren = await childrenOf(inner.id);
    expect(parent.status).toBe('success');
    expect(inner.status).toBe('success');
    expect(grandchildren.map((g) => g.status)).toEqual(['success', 'success']);
    expect(inner.priority).toBe(4);
    expect(grandchildren.map((g) => g.priority)).toEqual([3, 3]);
    const innerResult = inner.result as AggregatedResult;
    expect(innerResult).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const result = parent.result as AggregatedResult;
    expect(result).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    expect(result.results[inner.id]).toEqual(innerResult);
  });

  it('fails a nested flow upwards under FAIL_PARENT, naming the chain of children', async () => {
    h = await createHarness();
    await h.startWorker();
    const { task } = await h.engine.submit({
      type: 'fan',
      onChildFailure: 'fail_parent',
      params: {
        children: [{ type: 'fan', onChildFailure: 'fail_parent', params: { children: [failing('g')] } }],
      },
    });
    await h.waitForEvents(finished(task.id));
    const parent = await h.engine.store.getOrThrow(task.id);
    const [inner] = await childrenOf(task.id);
    const [grandchild] = await childrenOf(inner!.id);
    expect([grandchild!.status, inner!.status, parent.status]).toEqual([
      'dead_lettered',
      'dead_lettered',
      'dead_lettered',
    ]);
    expect(parent.attempts.at(-1)!.error).toMatchObject({
      code: 'CHILD_FAILED',
      message: `child ${inner!.id} > ${grandchild!.id} failed: upstream said 404`,
    });
  });
});
