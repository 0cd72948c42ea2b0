import type { TaskEvent } from '@taskplane/core';
import type { SubmitOutcome } from '@taskplane/queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { maxOverlap, TEST_TYPES_CONFIG, type TestEngine, testEngine } from '../helpers/engine';
import { type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';

// Fair groups with real worker processes (issue 12): a small group is not starved by a big one's
// backlog, and a worker killed mid-run does not leave its group's slot taken for ever.

const CONFIG = {
  ...TEST_TYPES_CONFIG,
  queues: {
    ...TEST_TYPES_CONFIG.queues,
    slow: { ...TEST_TYPES_CONFIG.queues.slow, groups: { concurrency: 1 } },
  },
};

let t: TestEngine;
let prefix: string;
const workers: RunningProcess[] = [];

async function worker(): Promise<RunningProcess> {
  const w = await startApp('worker', { prefix, configOverrides: CONFIG });
  workers.push(w);
  await w.waitForLine(/worker ready/, 20_000);
  return w;
}

function submitted(outcomes: SubmitOutcome[]): string[] {
  return outcomes.map((o) => {
    if (!o.ok) throw new Error(`submit refused: ${o.error.message}`);
    return o.task.id;
  });
}

const endedOf = (events: TaskEvent[], ids: Set<string>) =>
  events.filter((e) => e.kind === 'succeeded' && ids.has(e.taskId));

beforeAll(() => {
  prefix = uniquePrefix('groups');
  t = testEngine(prefix, CONFIG);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 5000)));
});
afterAll(async () => {
  await t.close();
});

describe('fair groups', () => {
  it('runs all 10 tasks of group B before a tenth of the 2,000 group A submitted first', async () => {
    const a = submitted(
      await t.engine.submitMany(
        Array.from({ length: 2000 }, (_, n) => ({ type: 'noop', params: { n }, group: 'A' })),
      ),
    );
    const b = submitted(
      await t.engine.submitMany(
        Array.from({ length: 10 }, (_, n) => ({ type: 'noop', params: { n }, group: 'B' })),
      ),
    );
    const started = Date.now();
    await Promise.all([worker(), worker()]);
    const ofA = new Set(a);
    const ofB = new Set(b);
    const events = await t.waitFor(
      (all) => endedOf(all, ofB).length === b.length,
      60_000,
      "group B's tasks to succeed",
    );
    const lastB = endedOf(events, ofB).at(-1)!;
    const aBefore = endedOf(events, ofA).filter((e) => e.cursor < lastB.cursor).length;
    console.log(
      `fair groups: all 10 of B done after ${aBefore} of 2,000 A (${Date.now() - started} ms from the workers' start)`,
    );
    expect(aBefore).toBeLessThan(200);
    await t.waitFor((all) => endedOf(all, ofA).length === a.length, 120_000, "group A's tasks to succeed");
    expect((await t.engine.groups('bulk', 100)).groups).toEqual([]);
  });

  it("frees a killed worker's group slot once its stalled task ends elsewhere", async () => {
    const first = await worker();
    const [held, next] = submitted(
      await t.engine.submitMany([1, 2].map(() => ({ type: 'sleep', params: { ms: 1500 }, group: 'k' }))),
    );
    await t.waitFor((all) => all.some((e) => e.taskId === held && e.kind === 'started'), 20_000, 'the start');
    expect((await t.engine.groups('slow', 10)).groups).toEqual([
      { name: 'k', waiting: 1, queued: 0, running: 1, inFlight: 1 },
    ]);
    await first.kill();
    await worker();
    await t.waitFor(
      (all) => [held, next].every((id) => all.some((e) => e.taskId === id && e.kind === 'succeeded')),
      30_000,
      'both tasks to succeed',
    );
    const kinds = (await t.events()).filter((e) => e.taskId === held && e.kind !== 'log').map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'started', 'stalled', 'started', 'succeeded']);
    const records = await t.engine.store.getMany([held!, next!]);
    // One at a time throughout: the stalled task's second run and the next one did not overlap.
    expect(maxOverlap(records.flatMap((r) => r!.attempts.filter((x) => !x.stalled)))).toBe(1);
    // The slot is free: nothing is counted, and a new task of the group runs.
    expect((await t.engine.groups('slow', 10)).groups).toEqual([]);
    const { task } = await t.engine.submit({ type: 'sleep', params: { ms: 10 }, group: 'k' });
    await t.waitFor(
      (all) => all.some((e) => e.taskId === task.id && e.kind === 'succeeded'),
      20_000,
      'a new task',
    );
  });
});
