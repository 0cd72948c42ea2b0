// Queue preemption: on a full queue, an urgent task takes the slot of the lowest-priority running
// task, which goes back to the queue without using up an attempt; both histories say so.
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './testing/harness';

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.close();
  harness = null;
});

const QUEUE = {
  work: {
    concurrency: 2,
    order: 'fifo',
    priority: 5,
    rate_limit: null,
    global_concurrency: null,
    preemption: { below: 8 },
  },
};

describe('preemption', () => {
  it('hands the lowest-priority running task back for an urgent one, keeping its attempt', async () => {
    harness = await createHarness({ queues: QUEUE });
    const h = harness;
    await h.startWorker();
    const low = await h.engine.submit({ type: 'work', params: { sleepMs: 1500, tag: 'p1' }, priority: 1 });
    const mid = await h.engine.submit({ type: 'work', params: { sleepMs: 1500, tag: 'p3' }, priority: 3 });
    await h.waitForEvents((all) =>
      [low, mid].every(({ task }) => all.some((e) => e.taskId === task.id && e.kind === 'started')),
    );
    const urgent = await h.engine.submit({ type: 'work', params: { tag: 'p10' }, priority: 10 });
    const events = await h.waitForEvents((all) =>
      [low, mid, urgent].every(({ task }) => all.some((e) => e.taskId === task.id && e.kind === 'succeeded')),
    );
    const kinds = (id: string) =>
      events.filter((e) => e.taskId === id && e.kind !== 'log').map((e) => e.kind);
    expect(kinds(low.task.id)).toEqual(['submitted', 'started', 'preempted', 'started', 'succeeded']);
    expect(kinds(mid.task.id)).toEqual(['submitted', 'started', 'succeeded']);
    expect(kinds(urgent.task.id)).toEqual(['submitted', 'preempted', 'started', 'succeeded']);
    const told = events.filter((e) => e.kind === 'preempted');
    expect(told.find((e) => e.taskId === low.task.id)!.data).toEqual({ attempt: 1, by: urgent.task.id });
    expect(told.find((e) => e.taskId === urgent.task.id)!.data).toEqual({ preempted: low.task.id });

    const record = await h.engine.store.getOrThrow(low.task.id);
    expect(record.attemptsMade).toBe(1);
    expect(record.attempts).toHaveLength(2);
    expect(record.attempts[0]).toMatchObject({ preempted: true, preemptedBy: urgent.task.id, error: null });
    expect(record.attempts[1]).toMatchObject({ preempted: false, error: null });
    expect((await h.engine.queue('work').getJob(low.task.id))?.attemptsMade).toBe(1);
  });

  it('gives each of several urgent tasks submitted at once a different victim, and no more than the queue holds', async () => {
    harness = await createHarness({ queues: QUEUE });
    const h = harness;
    await h.startWorker();
    const low = [
      await h.engine.submit({ type: 'work', params: { sleepMs: 1000 }, priority: 2 }),
      await h.engine.submit({ type: 'work', params: { sleepMs: 1000 }, priority: 2 }),
    ].map((s) => s.task.id);
    await h.waitForEvents((all) =>
      low.every((id) => all.some((e) => e.taskId === id && e.kind === 'started')),
    );
    const outcomes = await h.engine.submitMany(
      [8, 9, 10].map((priority) => ({ type: 'work', params: {}, priority })),
    );
    const urgent = outcomes.map((o) => (o.ok ? o.task.id : ''));
    const events = await h.waitForEvents((all) =>
      [...low, ...urgent].every((id) => all.some((e) => e.taskId === id && e.kind === 'succeeded')),
    );
    const preempted = events.filter((e) => e.kind === 'preempted' && low.includes(e.taskId));
    // Both running tasks were preempted, each once, by the two most urgent of the three.
    expect(preempted.map((e) => e.taskId).sort()).toEqual([...low].sort());
    expect(preempted.map((e) => e.data.by).sort()).toEqual([urgent[1], urgent[2]].sort());
    for (const id of low) expect((await h.engine.store.getOrThrow(id)).attemptsMade).toBe(1);
  });

  it('leaves a queue alone that has a free slot, or no preemption setting, or only urgent tasks running', async () => {
    harness = await createHarness();
    const h = harness;
    await h.startWorker();
    const running = [
      await h.engine.submit({ type: 'work', params: { sleepMs: 600 }, priority: 1 }),
      await h.engine.submit({ type: 'work', params: { sleepMs: 600 }, priority: 1 }),
    ];
    await h.waitForEvents((all) =>
      running.every(({ task }) => all.some((e) => e.taskId === task.id && e.kind === 'started')),
    );
    // Off by default: the urgent task waits its turn.
    const urgent = await h.engine.submit({ type: 'work', params: {}, priority: 10 });
    await h.waitForEvents((all) => all.some((e) => e.taskId === urgent.task.id && e.kind === 'succeeded'));
    // On at run time, with every slot running urgent tasks: nothing is preempted.
    await h.engine.updateQueueSettings('work', { preemption: { below: 8 } });
    expect((await h.engine.queueSettings('work')).preemption).toEqual({ below: 8 });
    const busy = [
      await h.engine.submit({ type: 'work', params: { sleepMs: 600 }, priority: 9 }),
      await h.engine.submit({ type: 'work', params: { sleepMs: 600 }, priority: 9 }),
    ];
    await h.waitForEvents((all) =>
      busy.every(({ task }) => all.some((e) => e.taskId === task.id && e.kind === 'started')),
    );
    const third = await h.engine.submit({ type: 'work', params: {}, priority: 10 });
    const events = await h.waitForEvents((all) =>
      [...busy, third].every(({ task }) => all.some((e) => e.taskId === task.id && e.kind === 'succeeded')),
    );
    expect(events.filter((e) => e.kind === 'preempted')).toEqual([]);
  });
});
