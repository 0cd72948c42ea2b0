import { ValidationError } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { trimFinishedWorkflows } from './retention';
import { createHarness, type Harness } from './testing/harness';
import { WorkflowService } from './workflows';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const diamond = (fail = false) => ({
  name: 'diamond',
  nodes: [
    { key: 'A', task: { type: 'work', params: { tag: 'A' } } },
    {
      key: 'B',
      task: { type: 'work', params: { tag: 'B', ...(fail ? { fail: 'permanent' } : {}) } },
      dependsOn: ['A'],
    },
    { key: 'C', task: { type: 'work', params: { tag: 'C', sleepMs: 30 } }, dependsOn: ['A'] },
    { key: 'D', task: { type: 'work', params: { tag: 'D' } }, dependsOn: ['B', 'C'] },
  ],
});

describe('workflows', () => {
  it('submits a diamond as one workflow, runs it in order and derives its status', async () => {
    h = await createHarness();
    const workflows = new WorkflowService(h.engine);
    const wf = await workflows.submit(diamond());
    expect(wf).toMatchObject({ name: 'diamond', size: 4, status: 'pending', finishedAt: null });
    expect(wf.counts).toEqual({ pending: 1, blocked: 3 });
    const nodes = await workflows.nodes(wf.id);
    expect(nodes.map((n) => n.key)).toEqual(['A', 'B', 'C', 'D']);
    const tasks = await workflows.tasks(nodes);
    expect(tasks.map((t) => t!.workflowId)).toEqual([wf.id, wf.id, wf.id, wf.id]);
    expect(workflows.edges(nodes, tasks)).toEqual([
      { from: 'A', to: 'B' },
      { from: 'A', to: 'C' },
      { from: 'B', to: 'D' },
      { from: 'C', to: 'D' },
    ]);
    await h.startWorker();
    const d = nodes[3]!.taskId;
    await h.waitForEvents((all) => all.some((e) => e.taskId === d && e.kind === 'succeeded'));
    const done = await workflows.getOrThrow(wf.id);
    expect(done.status).toBe('succeeded');
    expect(done.counts).toEqual({ success: 4 });
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.createdAt);
    const [, rb, rc, rd] = await workflows.tasks(nodes);
    expect(rd!.startedAt!).toBeGreaterThanOrEqual(Math.max(rb!.finishedAt!, rc!.finishedAt!));
    // Every event of a node carries its workflow.
    expect((await h.events()).every((e) => e.workflowId === wf.id)).toBe(true);
    expect((await workflows.list({ status: ['succeeded'] })).workflows.map((w) => w.id)).toEqual([wf.id]);
    expect((await workflows.list({ status: ['running'] })).workflows).toEqual([]);
    expect((await workflows.list({ name: 'diamond' })).workflows.map((w) => w.id)).toEqual([wf.id]);
  });

  it('are trimmed by retention once finished, by age and by count, and running ones are kept', async () => {
    h = await createHarness({ retention: { finished_max_age: '1h', finished_max_count: 2 } });
    const workflows = new WorkflowService(h.engine);
    const succeeded = [];
    for (let i = 0; i < 3; i++) succeeded.push(await workflows.submit(diamond()));
    const failed = await workflows.submit(diamond(true));
    await h.startWorker();
    const ended = (all: { taskId: string; kind: string }[], id: string) =>
      all.some((e) => e.taskId === id && (e.kind === 'succeeded' || e.kind === 'cancelled'));
    const lasts = await Promise.all(
      [...succeeded, failed].map(async (wf) => (await workflows.nodes(wf.id)).at(-1)!.taskId),
    );
    await h.waitForEvents((all) => lasts.every((id) => ended(all, id)));
    // The failed diamond's D is cancelled as soon as B fails, while C (30 ms) may still run.
    await expect.poll(async () => (await workflows.getOrThrow(failed.id)).status).toBe('failed');
    // One more, left running: a node that sleeps past the test.
    const running = await workflows.submit({
      name: 'long',
      nodes: [{ key: 'A', task: { type: 'work', params: { tag: 'long', sleepMs: 60_000 } } }],
    });
    const longNode = (await workflows.nodes(running.id))[0]!.taskId;
    await h.waitForEvents((all) => all.some((e) => e.taskId === longNode && e.kind === 'started'));

    // By count: two finished workflows per status are kept; the oldest succeeded one goes, with
    // its node map.
    expect(await trimFinishedWorkflows(h.engine)).toBe(1);
    expect(await workflows.get(succeeded[0]!.id)).toBeNull();
    expect(
      await h.redis.exists(h.keys.workflow(succeeded[0]!.id), h.keys.workflowNodes(succeeded[0]!.id)),
    ).toBe(0);
    const ids = (list: { id: string }[]) => list.map((w) => w.id).sort();
    expect(ids((await workflows.list({})).workflows)).toEqual(
      ids([succeeded[1]!, succeeded[2]!, failed, running]),
    );

    // By age, two hours on: every finished one goes; the running one stays.
    const later = Date.now() + 2 * 3_600_000;
    expect(await trimFinishedWorkflows(h.engine, later)).toBe(3);
    expect(ids((await workflows.list({})).workflows)).toEqual([running.id]);
    expect((await workflows.list({ name: 'diamond' })).workflows).toEqual([]);
    expect((await workflows.list({ status: ['failed'] })).workflows).toEqual([]);
    expect(await workflows.get(running.id)).toMatchObject({ status: 'running' });

    // A node of a trimmed workflow run again by hand does not bring the workflow back.
    const failedNode = (await h.events()).find(
      (e) => e.workflowId === failed.id && e.kind === 'dead_lettered',
    )!;
    const before = (await h.events()).filter((e) => e.taskId === failedNode.taskId).length;
    await h.engine.retry(failedNode.taskId);
    await h.waitForEvents(
      (all) => all.filter((e) => e.taskId === failedNode.taskId && e.kind === 'dead_lettered').length > 1,
    );
    expect((await h.events()).filter((e) => e.taskId === failedNode.taskId).length).toBeGreaterThan(before);
    expect(await h.redis.exists(h.keys.workflow(failed.id), h.keys.workflowNodes(failed.id))).toBe(0);
    expect(await workflows.get(failed.id)).toBeNull();
    expect(ids((await workflows.list({})).workflows)).toEqual([running.id]);
  });

  it('are trimmed by running workers on retention.interval', async () => {
    h = await createHarness({ retention: { finished_max_count: 1, interval: '200ms' } });
    const workflows = new WorkflowService(h.engine);
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await workflows.submit({ name: 'one', nodes: [{ key: 'A', task: { type: 'work', params: {} } }] }))
          .id,
      );
    await h.startWorker();
    await h.waitForEvents((all) => all.filter((e) => e.kind === 'succeeded').length === 3);
    await expect
      .poll(async () => (await workflows.list({ name: 'one' })).workflows.map((w) => w.id), { timeout: 5000 })
      .toEqual([ids[2]]);
  });

  it('a failed node cancels what depends on it, and the workflow fails', async () => {
    h = await createHarness();
    const workflows = new WorkflowService(h.engine);
    const wf = await workflows.submit(diamond(true));
    await h.startWorker();
    await expect
      .poll(async () => (await workflows.getOrThrow(wf.id)).status, { timeout: 10_000 })
      .toBe('failed');
    const tasks = await workflows.tasks(await workflows.nodes(wf.id));
    expect(tasks.map((t) => t!.status)).toEqual(['success', 'dead_lettered', 'success', 'cancelled']);
  });

  it('rejects a cycle naming its nodes, and an unknown key, adding nothing', async () => {
    h = await createHarness();
    const workflows = new WorkflowService(h.engine);
    const cycle = workflows.submit({
      name: 'loop',
      nodes: [
        { key: 'a', task: { type: 'work', params: {} } },
        { key: 'b', task: { type: 'work', params: {} }, dependsOn: ['a', 'd'] },
        { key: 'c', task: { type: 'work', params: {} }, dependsOn: ['b'] },
        { key: 'd', task: { type: 'work', params: {} }, dependsOn: ['c'] },
      ],
    });
    await expect(cycle).rejects.toBeInstanceOf(ValidationError);
    await expect(cycle).rejects.toMatchObject({ fields: [{ message: 'cycle: b -> c -> d -> b' }] });
    await expect(
      workflows.submit({
        name: 'x',
        nodes: [
          { key: 'a', task: { type: 'work', params: {} }, dependsOn: ['zz'] },
          { key: 'b', task: { type: 'work', params: { sleepMs: -1 } } },
        ],
      }),
    ).rejects.toMatchObject({ fields: [{ path: 'nodes.0.dependsOn.0', message: 'unknown node key "zz"' }] });
    await expect(
      workflows.submit({
        name: 'x',
        nodes: [
          { key: 'a', task: { type: 'work', params: {} } },
          { key: 'b', task: { type: 'work', params: { sleepMs: -1 } } },
        ],
      }),
    ).rejects.toMatchObject({ fields: [{ path: 'nodes.1.task.params.sleepMs' }] });
    expect(await h.engine.queue('work').count()).toBe(0);
    expect((await workflows.list({})).workflows).toEqual([]);
  });

  it('creates a workflow of 1,000 nodes in one call', async () => {
    h = await createHarness();
    const workflows = new WorkflowService(h.engine);
    // Ten layers of 100; each node waits on two of the layer before.
    const nodes = Array.from({ length: 1000 }, (_, i) => ({
      key: `n${i}`,
      task: { type: 'work', params: {} },
      dependsOn: i < 100 ? [] : [`n${i - 100}`, `n${i - 100 - (i % 100 === 0 ? 0 : 1)}`],
    }));
    const started = performance.now();
    const wf = await workflows.submit({ name: 'big', nodes });
    const ms = performance.now() - started;
    console.info(`[bench] submitWorkflow of 1,000 nodes: ${ms.toFixed(0)} ms`);
    expect(wf.size).toBe(1000);
    expect(wf.counts).toEqual({ pending: 100, blocked: 900 });
    expect(await h.engine.queue('work').getDelayedCount()).toBe(900);
  });
});
