import type { TaskEvent } from '@taskplane/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TYPES_CONFIG, type TestEngine, testEngine } from '../helpers/engine';
import { type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';

// Queue preemption with a real worker process: an urgent task on a queue full of low-priority
// ones starts at once, and the task it displaced runs again later without losing an attempt.

const CONFIG = {
  ...TEST_TYPES_CONFIG,
  queues: {
    ...TEST_TYPES_CONFIG.queues,
    slow: { ...TEST_TYPES_CONFIG.queues.slow, preemption: { below: 8 } },
  },
};

const kinds = (events: TaskEvent[], id: string) =>
  events.filter((e) => e.taskId === id && e.kind !== 'log').map((e) => e.kind);

let t: TestEngine;
let prefix: string;
const workers: RunningProcess[] = [];

beforeAll(() => {
  prefix = uniquePrefix('preempt');
  t = testEngine(prefix, CONFIG);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 5000)));
});
afterAll(async () => {
  await t.close();
});

describe('preemption', () => {
  it('starts a priority-10 task at once on a queue saturated with priority-1 tasks; the preempted one keeps its attempt', async () => {
    const worker = await startApp('worker', { prefix, configOverrides: CONFIG });
    workers.push(worker);
    await worker.waitForLine(/worker ready/, 20_000);
    // The queue `slow` has 2 slots on this worker: fill both with long priority-1 tasks.
    const low = await Promise.all(
      [1, 2].map(
        async () => (await t.engine.submit({ type: 'sleep', params: { ms: 4000 }, priority: 1 })).task,
      ),
    );
    await t.waitFor(
      (all) => low.every((task) => kinds(all, task.id).includes('started')),
      20_000,
      'both low tasks started',
    );
    const { task: urgent } = await t.engine.submit({ type: 'sleep', params: { ms: 100 }, priority: 10 });
    const events = await t.waitFor(
      (all) => [...low, urgent].every((task) => kinds(all, task.id).includes('succeeded')),
      30_000,
      'every task to succeed',
    );

    const record = await t.engine.store.getOrThrow(urgent.id);
    const delayMs = record.startedAt! - record.createdAt;
    console.log(`preemption: the priority-10 task started ${delayMs} ms after its submit`);
    // Generous: without preemption it would wait about 4 s for a slot.
    expect(delayMs).toBeLessThan(3000);
    expect(kinds(events, urgent.id)).toEqual(['submitted', 'preempted', 'started', 'succeeded']);

    const preempted = low.filter((task) => kinds(events, task.id).includes('preempted'));
    expect(preempted).toHaveLength(1);
    const victim = preempted[0]!;
    expect(kinds(events, victim.id)).toEqual(['submitted', 'started', 'preempted', 'started', 'succeeded']);
    expect(events.find((e) => e.taskId === urgent.id && e.kind === 'preempted')!.data).toEqual({
      preempted: victim.id,
    });
    const after = await t.engine.store.getOrThrow(victim.id);
    expect(after.status).toBe('success');
    expect(after.attemptsMade).toBe(1);
    expect(after.attempts.map((a) => a.preempted)).toEqual([true, false]);
    expect(after.attempts[0]).toMatchObject({ preemptedBy: urgent.id, error: null });
    expect((await t.engine.queue('slow').getJob(victim.id))!.attemptsMade).toBe(1);
  });
});
