import { createLogger } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, REDIS_URL } from '../testing/harness';
import { BulkKind, type BulkOperation, BulkState } from './bulk-operation';
import { BulkOperations } from './bulk-operations';
import { BulkRunner } from './bulk-runner';

let h: Harness;
let bulk: BulkOperations | undefined;
let runner: BulkRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  await bulk?.stop();
  await h?.engine.queue('_bulk').obliterate({ force: true });
  await h?.close();
  bulk = undefined;
  runner = undefined;
});

async function startBulk(): Promise<BulkOperations> {
  const logger = createLogger('test', 'warn');
  bulk = new BulkOperations(h.engine, REDIS_URL, h.keys, logger);
  await bulk.start();
  runner = new BulkRunner(h.engine, bulk.store, REDIS_URL, logger);
  runner.start();
  return bulk;
}

async function finished(id: string): Promise<BulkOperation> {
  let last: BulkOperation | undefined;
  for await (const op of bulk!.watch(id)) last = op;
  return last!;
}

describe('bulk operations', () => {
  it('cleanQueue(finishedBefore) deletes only tasks that finished before the cutoff', async () => {
    h = await createHarness();
    const early = await h.engine.submit({ type: 'work', params: {} });
    // Created before the cutoff too, but finishes after it.
    const late = await h.engine.submit({ type: 'work', params: { sleepMs: 400 } });
    const host = await h.startWorker();
    await h.waitForEvents((all) => all.some((e) => e.taskId === early.task.id && e.kind === 'succeeded'));
    const cutoff = Date.now() + 100;
    await h.waitForEvents((all) => all.some((e) => e.taskId === late.task.id && e.kind === 'succeeded'));
    await host.stop();
    expect((await h.engine.store.getOrThrow(late.task.id)).finishedAt).toBeGreaterThan(cutoff);

    const ops = await startBulk();
    const filter = { queue: ['work'], status: ['success' as const], finishedBefore: cutoff };
    expect(await ops.preview(filter)).toMatchObject({ count: 1, exact: true });
    const op = await ops.run(BulkKind.CleanQueue, filter);
    expect(await finished(op.id)).toMatchObject({ state: BulkState.Done, succeeded: 1, processed: 1 });
    expect(await h.engine.store.get(early.task.id)).toBeNull();
    expect(await h.engine.store.get(late.task.id)).not.toBeNull();
  });

  it('a queue’s dead-letter count leaves out tasks cancelled while they ran', async () => {
    h = await createHarness();
    const dead = await h.engine.submit({ type: 'work', params: { fail: 'permanent' } });
    const running = await h.engine.submit({ type: 'work', params: { sleepMs: 5000 } });
    const host = await h.startWorker();
    await h.waitForEvents((all) => all.some((e) => e.taskId === running.task.id && e.kind === 'started'));
    await h.engine.cancel(running.task.id);
    await h.waitForEvents((all) => all.some((e) => e.taskId === dead.task.id && e.kind === 'dead_lettered'));
    // BullMQ holds both in its failed set; only one is a dead letter.
    await expect.poll(async () => (await h.engine.queue('work').getJobCounts('failed')).failed).toBe(2);
    expect((await h.engine.counts('work')).deadLettered).toBe(1);
    await host.stop();
  });

  it('a requeued dead letter counts its attempts anew', async () => {
    h = await createHarness();
    const { task } = await h.engine.submit({ type: 'work', params: { fail: 'transient' }, maxAttempts: 2 });
    const host = await h.startWorker();
    await h.waitForEvents(
      (all) => all.filter((e) => e.taskId === task.id && e.kind === 'dead_lettered').length === 1,
    );
    const ops = await startBulk();
    const op = await ops.run(BulkKind.RequeueDeadLetters, { status: ['dead_lettered'] });
    expect(await finished(op.id)).toMatchObject({ state: BulkState.Done, succeeded: 1 });
    await h.waitForEvents(
      (all) => all.filter((e) => e.taskId === task.id && e.kind === 'dead_lettered').length === 2,
    );
    await host.stop();
    const again = await h.engine.store.getOrThrow(task.id);
    expect(again.attemptsMade).toBe(2);
    expect(again.maxAttempts).toBe(2);
    // Every attempt is kept, numbered within its run.
    expect(again.attempts.map((a) => a.attempt)).toEqual([1, 2, 1, 2]);
    const started = (await h.events()).filter((e) => e.taskId === task.id && e.kind === 'started');
    expect(started.map((e) => e.data.attempt)).toEqual([1, 2, 1, 2]);
  });

  it('cancel by filter walks every matching task in batches, each counted once', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 450 }, () => ({ type: 'work', params: {}, labels: { batch: 'x' } })),
    );
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
    const ops = await startBulk();
    const op = await ops.run(BulkKind.CancelTasks, { labels: { batch: 'x' }, status: ['pending'] });
    expect(op).toMatchObject({ total: 450, totalExact: true });
    const done = await finished(op.id);
    expect(done).toMatchObject({ state: BulkState.Done, processed: 450, succeeded: 450, failed: 0 });
    const records = await h.engine.store.getMany(ids);
    expect(records.every((t) => t?.status === 'cancelled')).toBe(true);
  });
});

describe('bulk operation progress', () => {
  it('reaches a watcher through a killed Redis connection, newest state last', async () => {
    h = await createHarness();
    await h.engine.submitMany(Array.from({ length: 1200 }, () => ({ type: 'work', params: {} })));
    const ops = await startBulk();
    const op = await ops.run(BulkKind.CancelTasks, { status: ['pending'] });
    const versions: number[] = [];
    let killed = 0;
    let last: BulkOperation | undefined;
    for await (const progress of ops.watch(op.id)) {
      versions.push(progress.version);
      last = progress;
      if (!killed && progress.processed > 0) {
        const clients = (await h.redis.client('LIST')) as string;
        for (const line of clients.split('\n')) {
          if (line.includes(`name=${h.keys.prefix}:bulk-tail`)) {
            await h.redis.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
            killed++;
          }
        }
      }
    }
    expect(killed).toBe(1);
    expect(last).toMatchObject({ state: BulkState.Done, processed: 1200, succeeded: 1200 });
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });
});
