import { ValidationError } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const statusOf = async (id: string) => (await h.engine.store.getOrThrow(id)).status;

describe('task dependencies', () => {
  it('runs a diamond in order: D starts only after B and C succeed', async () => {
    h = await createHarness();
    const { task: a } = await h.engine.submit({ type: 'work', params: { tag: 'A', sleepMs: 50 } });
    const { task: b } = await h.engine.submit({
      type: 'work',
      params: { tag: 'B', sleepMs: 100 },
      dependsOn: [a.id],
    });
    const { task: c } = await h.engine.submit({
      type: 'work',
      params: { tag: 'C', sleepMs: 20 },
      dependsOn: [a.id],
    });
    const { task: d } = await h.engine.submit({
      type: 'work',
      params: { tag: 'D' },
      dependsOn: [b.id, c.id],
    });
    expect([b.status, c.status, d.status]).toEqual(['blocked', 'blocked', 'blocked']);
    expect(d.dependsOn).toEqual([b.id, c.id]);
    await h.startWorker();
    await h.waitForEvents((all) => all.some((e) => e.taskId === d.id && e.kind === 'succeeded'));
    const [ra, rb, rc, rd] = await h.engine.store.getMany([a.id, b.id, c.id, d.id]);
    const tags = h.runs.map((r) => r.tag);
    expect(tags[0]).toBe('A');
    expect(tags[3]).toBe('D');
    expect(rb!.startedAt!).toBeGreaterThanOrEqual(ra!.finishedAt!);
    expect(rd!.startedAt!).toBeGreaterThanOrEqual(Math.max(rb!.finishedAt!, rc!.finishedAt!));
    const kinds = (await h.events()).filter((e) => e.taskId === d.id).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'ready', 'started', 'log', 'succeeded']);
    // Nothing of the dependency graph is left behind.
    expect(await h.redis.exists(h.keys.taskDeps(d.id), h.keys.taskDependents(a.id))).toBe(0);
  });

  it('cancels a dependent of a failed task by default, and runs it with RUN_ANYWAY', async () => {
    h = await createHarness();
    const { task: b } = await h.engine.submit({ type: 'work', params: { tag: 'B', fail: 'permanent' } });
    const { task: d } = await h.engine.submit({ type: 'work', params: { tag: 'D' }, dependsOn: [b.id] });
    const { task: e } = await h.engine.submit({ type: 'work', params: { tag: 'E' }, dependsOn: [d.id] });
    const { task: r } = await h.engine.submit({
      type: 'work',
      params: { tag: 'R' },
      dependsOn: [b.id],
      onDependencyFailure: 'run_anyway',
    });
    await h.startWorker();
    await h.waitForEvents((all) => all.some((ev) => ev.taskId === r.id && ev.kind === 'succeeded'));
    const done = await h.engine.store.getMany([b.id, d.id, e.id]);
    expect(done.map((t) => t!.status)).toEqual(['dead_lettered', 'cancelled', 'cancelled']);
    const cancelled = (await h.events()).filter((ev) => ev.kind === 'cancelled');
    expect(cancelled.map((ev) => [ev.taskId, ev.data.reason])).toEqual([
      [d.id, `dependency ${b.id} failed`],
      [e.id, `dependency ${d.id} cancelled`],
    ]);
    expect(h.runs.map((run) => run.tag)).toEqual(['B', 'R']);
    // The cancelled dependents' parked jobs are gone from BullMQ.
    expect(await h.engine.queue('work').getDelayedCount()).toBe(0);
  });

  it('cancelling a dependency cancels its dependents at once', async () => {
    h = await createHarness();
    const { task: a } = await h.engine.submit({ type: 'work', params: {}, delayMs: 60_000 });
    const { task: b } = await h.engine.submit({ type: 'work', params: {}, dependsOn: [a.id] });
    await h.engine.cancel(a.id);
    expect(await statusOf(b.id)).toBe('cancelled');
    expect(await h.engine.queue('work').getDelayedCount()).toBe(0);
  });

  it('rejects unknown ids naming dependsOn.N, and resolves finished ones at submit', async () => {
    h = await createHarness();
    const { task: ok } = await h.engine.submit({ type: 'work', params: {} });
    await expect(
      h.engine.submit({ type: 'work', params: {}, dependsOn: [ok.id, 'nope'] }),
    ).rejects.toMatchObject({ fields: [{ path: 'dependsOn.1' }] });
    await expect(
      h.engine.submit({ type: 'work', params: {}, dependsOn: [ok.id], delayMs: 5 }),
    ).rejects.toBeInstanceOf(ValidationError);
    const { task: bad } = await h.engine.submit({ type: 'work', params: {}, delayMs: 60_000 });
    await h.engine.cancel(bad.id);
    await h.startWorker();
    await h.waitForEvents((all) => all.some((ev) => ev.taskId === ok.id && ev.kind === 'succeeded'));
    const { task: afterOk } = await h.engine.submit({ type: 'work', params: {}, dependsOn: [ok.id] });
    // A succeeded dependency is no blocker: the task is runnable at once (the running worker may
    // already have taken it by the time its record is read back).
    expect(['pending', 'running', 'success']).toContain(afterOk.status);
    const { task: afterBad } = await h.engine.submit({ type: 'work', params: {}, dependsOn: [bad.id] });
    expect(afterBad.status).toBe('cancelled');
    const { task: anyway } = await h.engine.submit({
      type: 'work',
      params: {},
      dependsOn: [bad.id, ok.id],
      onDependencyFailure: 'run_anyway',
    });
    // Runnable at once despite the cancelled dependency (the worker may already have taken it).
    expect(['pending', 'running', 'success']).toContain(anyway.status);
    await h.waitForEvents((all) => all.some((ev) => ev.taskId === anyway.id && ev.kind === 'succeeded'));
  });
});
