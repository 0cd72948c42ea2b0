// Bulk operations are stored work: an API process killed in the middle of one leaves it in Redis,
// and the next API process resumes it from its saved cursor, each task handled once.
import { afterEach, describe, expect, it } from 'vitest';
import type { BulkOperationFieldsFragment } from '../../packages/client/src/index';
import { unwrap } from '../../packages/client/src/index';
import { TEST_TYPES_CONFIG, testEngine } from '../helpers';
import { ADMIN_TOKEN, type Stack, startStack, takeUntil } from './api-fixture';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const DEAD_LETTERS = 5000;

describe('bulk operations', () => {
  it('a bulk requeue resumes after its API process is killed: every dead letter requeued exactly once', async () => {
    stack = await startStack('bulk-durable', { apis: 1, workers: 1, config: TEST_TYPES_CONFIG });
    const t = testEngine(stack.prefix);
    try {
      // 5,000 dead letters, then no worker, so requeued tasks stay pending where we can count them.
      const inputs = Array.from({ length: DEAD_LETTERS }, () => ({ type: 'fail', params: {} }));
      for (let i = 0; i < inputs.length; i += 1000) await t.engine.submitMany(inputs.slice(i, i + 1000));
      await t.waitFor(
        async () => (await t.engine.store.count({ status: ['dead_lettered'] })).count === DEAD_LETTERS,
        120_000,
        'dead letters',
      );
      await stack.workers[0]!.stop();

      const started = unwrap(await stack.admin.requeueDeadLetters({}), 'BulkResult').operation!;
      expect(started).toMatchObject({ state: 'RUNNING', total: DEAD_LETTERS, totalExact: true });
      const progress = stack.admin.watchBulkOperation(started.id);
      // Kill the API (and its runner) once the operation is well under way.
      const before = (
        await takeUntil(
          progress,
          ({ bulkOperation: op }) => op.processed >= 1000 || op.state !== 'RUNNING',
          60_000,
        )
      ).map((p) => p.bulkOperation);
      expect(before.at(-1)!.state).toBe('RUNNING');
      await stack.apis[0]!.kill();
      progress.close();

      const api = await stack.startApi();
      const watcher = stack.client(ADMIN_TOKEN, api);
      const after = (
        await takeUntil(
          watcher.watchBulkOperation(started.id),
          (p) => p.bulkOperation.state !== 'RUNNING',
          90_000,
        )
      ).map((p) => p.bulkOperation);
      const done: BulkOperationFieldsFragment = after.at(-1)!;
      expect(done).toMatchObject({
        state: 'DONE',
        processed: DEAD_LETTERS,
        succeeded: DEAD_LETTERS,
        skipped: 0,
        failed: 0,
      });
      // The watcher saw it move forward after the restart, never backwards.
      const seen = after.map((op) => op.processed);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);

      // Each task requeued exactly once: one `requeued` event each, and every one pending again.
      const events = await t.events();
      const requeued = new Map<string, number>();
      for (const e of events)
        if (e.kind === 'requeued') requeued.set(e.taskId, (requeued.get(e.taskId) ?? 0) + 1);
      expect(requeued.size).toBe(DEAD_LETTERS);
      expect([...requeued.values()].every((n) => n === 1)).toBe(true);
      expect(await t.engine.store.count({ status: ['pending'] })).toEqual({
        count: DEAD_LETTERS,
        exact: true,
      });
      expect(await t.engine.store.count({ status: ['dead_lettered'] })).toEqual({ count: 0, exact: true });
      expect((await t.engine.counts('bulk')).pending).toBe(DEAD_LETTERS);
    } finally {
      await t.close();
    }
  }, 300_000);
});
