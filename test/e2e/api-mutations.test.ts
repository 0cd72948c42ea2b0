// Every mutation of schema.graphql through @taskplane/client, with the bulkOperation subscription
// that follows a bulk run to its end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BulkResultFieldsFragment, unwrap } from '../../packages/client/src/index';
import { product, type Stack, startStack, submit, takeUntil, testLabel, waitForStatus } from './api-fixture';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('api-mutations');
});
afterAll(() => stack?.stop());

/** A task that waits ten minutes before it runs: it stays cancellable for the whole test. */
const DELAYED = { delayMs: 600_000 };

describe('tasks', () => {
  it('submitTask returns the new task; the same idempotency key returns it again', async () => {
    const label = testLabel();
    const input = product(stack.catalogue, label, 'p2', {
      priority: 9,
      idempotencyKey: label.value,
      ...DELAYED,
    });
    const first = unwrap(await stack.admin.submitTask(input), 'SubmitTaskPayload');
    expect(first.created).toBe(true);
    expect(first.task).toMatchObject({
      type: 'single_product',
      queue: 'products',
      priority: 9,
      status: 'DELAYED',
    });
    expect(first.task.labels).toEqual([label]);
    const again = unwrap(await stack.admin.submitTask(input), 'SubmitTaskPayload');
    expect(again).toMatchObject({ created: false, task: { id: first.task.id } });
  });

  it('submitTasks accepts the good items and rejects a bad one alone with its field errors', async () => {
    const label = testLabel();
    const result = unwrap(
      await stack.admin.submitTasks([
        product(stack.catalogue, label, 'p3'),
        { type: 'single_product', params: { url: 'ftp://nope' }, labels: [label] },
        product(stack.catalogue, label, 'p4'),
      ]),
      'SubmitTasksPayload',
    );
    expect(result).toMatchObject({ accepted: 2, rejected: 1 });
    expect(result.results.map((r) => r.__typename)).toEqual([
      'SubmitTaskPayload',
      'ValidationError',
      'SubmitTaskPayload',
    ]);
    expect(result.results[1]).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'params.url' }] });
  });

  it('cancelTask cancels a waiting task; cancelling again conflicts; an unknown id is not found', async () => {
    const task = await submit(stack.admin, product(stack.catalogue, testLabel(), 'p5', DELAYED));
    const cancelled = unwrap(await stack.admin.cancelTask(task.id, 'not needed'), 'Task');
    expect(cancelled.status).toBe('CANCELLED');
    expect((await stack.admin.task(task.id))!.status).toBe('CANCELLED');
    expect(await stack.admin.cancelTask(task.id)).toMatchObject({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
    expect(await stack.admin.cancelTask('no-such-task')).toMatchObject({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
  });

  it('retryTask runs a dead-lettered task again under the same id; an unknown id is not found', async () => {
    const label = testLabel();
    const task = await submit(stack.admin, product(stack.catalogue, label, 'missing'));
    expect((await waitForStatus(stack.admin, task.id)).status).toBe('DEAD_LETTERED');
    const retried = unwrap(await stack.admin.retryTask(task.id), 'Task');
    expect(retried.id).toBe(task.id);
    const after = await waitForStatus(stack.admin, task.id);
    expect(after.status).toBe('DEAD_LETTERED');
    expect(after.attemptsMade).toBeGreaterThan(task.attemptsMade);

    expect(await stack.admin.retryTask('no-such-task')).toMatchObject({ __typename: 'NotFoundError' });
  });
});

it('retryTask refuses a task that is still waiting with a ConflictError', async () => {
  const waiting = await submit(stack.admin, product(stack.catalogue, testLabel(), 'p6', DELAYED));
  expect(await stack.admin.retryTask(waiting.id)).toMatchObject({
    __typename: 'ConflictError',
    code: 'CONFLICT',
  });
});

describe('queues', () => {
  it('pauseQueue and resumeQueue flip the paused flag; an unknown queue is not found', async () => {
    expect(unwrap(await stack.admin.pauseQueue('sync'), 'Queue').paused).toBe(true);
    expect((await stack.admin.queue('sync'))!.paused).toBe(true);
    expect(unwrap(await stack.admin.resumeQueue('sync'), 'Queue').paused).toBe(false);
    expect(await stack.admin.pauseQueue('no-such-queue')).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('setQueueConcurrency changes it on the running worker; a bad value is a ValidationError', async () => {
    const queue = unwrap(
      await stack.admin.setQueueConcurrency({ name: 'shops', concurrency: 3, globalConcurrency: 4 }),
      'Queue',
    );
    expect(queue).toMatchObject({ concurrency: 3, globalConcurrency: 4 });
    const workerSees = async () =>
      (await stack.admin.workers())[0]!.concurrency.find((c) => c.queue === 'shops')?.concurrency;
    const updates = stack.admin.watchWorkers();
    try {
      if ((await workerSees()) !== 3)
        await takeUntil(updates, (c) =>
          c.workers.worker.concurrency.some((q) => q.queue === 'shops' && q.concurrency === 3),
        );
    } finally {
      updates.close();
    }
    expect(await stack.admin.setQueueConcurrency({ name: 'shops', concurrency: 0 })).toMatchObject({
      __typename: 'ValidationError',
    });
    expect(await stack.admin.setQueueConcurrency({ name: 'no-such-queue', concurrency: 1 })).toMatchObject({
      __typename: 'NotFoundError',
    });
    unwrap(
      await stack.admin.setQueueConcurrency({ name: 'shops', concurrency: 2, globalConcurrency: 0 }),
      'Queue',
    );
  });

  it('setQueueRateLimit sets and removes a limit', async () => {
    const limited = unwrap(
      await stack.admin.setQueueRateLimit({ name: 'search', max: 10, durationMs: 1000 }),
      'Queue',
    );
    expect(limited.rateLimit).toEqual({ max: 10, durationMs: 1000 });
    const open = unwrap(await stack.admin.setQueueRateLimit({ name: 'search' }), 'Queue');
    expect(open.rateLimit).toBeNull();
    expect(await stack.admin.setQueueRateLimit({ name: 'search', max: -1, durationMs: 1000 })).toMatchObject({
      __typename: 'ValidationError',
    });
  });
});

/** Follows a bulk run's operation with the bulkOperation subscription until it is no longer RUNNING. */
async function ended(result: BulkResultFieldsFragment) {
  const progress = stack.admin.watchBulkOperation(result.operation!.id);
  try {
    return (await takeUntil(progress, (p) => p.bulkOperation.state !== 'RUNNING')).at(-1)!.bulkOperation;
  } finally {
    progress.close();
  }
}

describe('bulk operations', () => {
  it('cancelTasks: a dry run counts and samples and changes nothing; the real run reaches DONE', async () => {
    const label = testLabel();
    const ids: string[] = [];
    for (const id of ['p10', 'p11', 'p12'])
      ids.push((await submit(stack.admin, product(stack.catalogue, label, id, DELAYED))).id);
    const filter = { labels: [label] };

    const dry = unwrap(await stack.admin.cancelTasks({ filter, dryRun: true }), 'BulkResult');
    expect(dry).toMatchObject({ dryRun: true, operation: null, preview: { count: 3 } });
    expect(dry.preview!.sample.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect((await stack.admin.tasks({ filter, first: 10 })).nodes.map((t) => t.status)).toEqual([
      'DELAYED',
      'DELAYED',
      'DELAYED',
    ]);

    const run = unwrap(await stack.admin.cancelTasks({ filter }), 'BulkResult');
    expect(run).toMatchObject({
      dryRun: false,
      preview: null,
      operation: { kind: 'CANCEL_TASKS', total: 3 },
    });
    expect(await ended(run)).toMatchObject({
      state: 'DONE',
      processed: 3,
      succeeded: 3,
      failed: 0,
    });
    expect((await stack.admin.bulkOperation(run.operation!.id))!.state).toBe('DONE');
    expect((await stack.admin.tasks({ filter, first: 10 })).nodes.map((t) => t.status)).toEqual([
      'CANCELLED',
      'CANCELLED',
      'CANCELLED',
    ]);

    // Cancelling an operation that has ended leaves it as it ended.
    const cancelled = unwrap(await stack.admin.cancelBulkOperation(run.operation!.id), 'BulkOperation');
    expect(cancelled.state).toBe('DONE');
    expect(await stack.admin.cancelBulkOperation('no-such-operation')).toMatchObject({
      __typename: 'NotFoundError',
    });
  });

  it('requeueDeadLetters and purgeDeadLetters: dry runs, then real runs', async () => {
    const label = testLabel();
    const filter = { labels: [label] };
    const task = await submit(stack.admin, product(stack.catalogue, label, 'missing'));
    await waitForStatus(stack.admin, task.id);

    const dryRequeue = unwrap(await stack.admin.requeueDeadLetters({ filter, dryRun: true }), 'BulkResult');
    expect(dryRequeue.preview).toMatchObject({ count: 1, sample: [{ id: task.id }] });
    const requeue = unwrap(await stack.admin.requeueDeadLetters({ filter }), 'BulkResult');
    expect((await ended(requeue)).state).toBe('DONE');
    // It fails again (the product is still missing) and is a dead letter once more: the record keeps
    // the first run's attempt and adds the new run's, counted anew.
    expect((await waitForStatus(stack.admin, task.id)).attemptsMade).toBe(1);
    const record = await stack.admin.task(task.id);
    expect(record?.attempts.length).toBeGreaterThan(1);

    const dryPurge = unwrap(await stack.admin.purgeDeadLetters({ filter, dryRun: true }), 'BulkResult');
    expect(dryPurge.preview!.count).toBe(1);
    expect((await stack.admin.deadLetters({ filter })).nodes).toHaveLength(1);
    const purge = unwrap(await stack.admin.purgeDeadLetters({ filter }), 'BulkResult');
    expect((await ended(purge)).state).toBe('DONE');
    expect((await stack.admin.deadLetters({ filter })).nodes).toHaveLength(0);
    expect(await stack.admin.task(task.id)).toBeNull();
  });

  it('cleanQueue: a dry run counts finished tasks of a queue; the real run deletes their records', async () => {
    const label = testLabel();
    const task = await submit(stack.admin, {
      type: 'shop_crawl',
      params: { shop_id: 'missing-shop' },
      labels: [label],
    });
    expect((await waitForStatus(stack.admin, task.id)).status).toBe('DEAD_LETTERED');
    const dry = unwrap(
      await stack.admin.cleanQueue({ name: 'shops', status: 'DEAD_LETTERED', dryRun: true }),
      'BulkResult',
    );
    expect(dry.preview!.count).toBeGreaterThanOrEqual(1);
    expect(await stack.admin.task(task.id)).not.toBeNull();
    const run = unwrap(
      await stack.admin.cleanQueue({ name: 'shops', status: 'DEAD_LETTERED' }),
      'BulkResult',
    );
    expect(await ended(run)).toMatchObject({ kind: 'CLEAN_QUEUE', state: 'DONE' });
    expect(await stack.admin.task(task.id)).toBeNull();
    expect(await stack.admin.cleanQueue({ name: 'shops', status: 'PENDING', dryRun: true })).toMatchObject({
      __typename: 'ValidationError',
    });
  });
});

describe('tokens', () => {
  it('createApiToken returns a working secret once; revokeApiToken stops it', async () => {
    const created = unwrap(
      await stack.admin.createApiToken('mutations-operator', 'OPERATOR'),
      'CreatedApiToken',
    );
    expect(created.secret).toMatch(/^tp_/);
    const operator = stack.client(created.secret);
    expect(await operator.viewer()).toMatchObject({
      role: 'OPERATOR',
      name: 'mutations-operator',
      tokenId: created.token.id,
    });
    const revoked = unwrap(await stack.admin.revokeApiToken(created.token.id), 'ApiToken');
    expect(revoked.revokedAt).not.toBeNull();
    await expect(operator.viewer()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
    expect(await stack.admin.revokeApiToken('tok_unknown')).toMatchObject({ __typename: 'NotFoundError' });
    expect(await stack.admin.createApiToken('', 'VIEWER')).toMatchObject({ __typename: 'ValidationError' });
  });
});
