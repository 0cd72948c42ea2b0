// Every query of schema.graphql through @taskplane/client, against real API and worker processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../packages/client/src/index';
import { product, type Stack, startStack, submit, takeUntil, testLabel, waitForStatus } from './api-fixture';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('api-queries');
});
afterAll(() => stack?.stop());

describe('queries', () => {
  it('health answers anyone; viewer names the caller or is null without a token', async () => {
    const anonymous = stack.client(null);
    expect(await anonymous.health()).toMatchObject({ status: 'ok', workers: 1 });
    expect((await anonymous.health()).redisVersion).toMatch(/^\d+\.\d+/);
    expect(await anonymous.viewer()).toBeNull();
    expect(await stack.admin.viewer()).toMatchObject({ role: 'ADMIN', tokenId: 'bootstrap' });
  });

  it('eventCursor marks "now": a stream after it holds only what happened since', async () => {
    const label = testLabel();
    const before = await submit(stack.admin, product(stack.catalogue, label, 'p3'));
    await waitForStatus(stack.admin, before.id);
    const cursor = await stack.admin.eventCursor();
    expect(cursor).toMatch(/^\d+-\d+$/);
    const after = await submit(stack.admin, product(stack.catalogue, label, 'p4'));
    const events = stack.admin.watchTaskEvents({ after: cursor, filter: { labels: [label] } });
    const seen = await takeUntil(events, (e) => e.kind === 'SUCCEEDED');
    await events.return?.();
    expect(new Set(seen.map((e) => e.taskId))).toEqual(new Set([after.id]));
    expect(seen[0]!.kind).toBe('SUBMITTED');
  });

  it('taskTypes lists the built-in types with their queues and parameter schemas', async () => {
    const types = await stack.admin.taskTypes();
    expect(types.map((t) => t.name).sort()).toEqual(
      expect.arrayContaining([
        'batch_products',
        'full_sync',
        'search_keywords',
        'shop_crawl',
        'single_product',
      ]),
    );
    const single = types.find((t) => t.name === 'single_product')!;
    expect(single.queue).toBe('products');
    expect(JSON.stringify(single.paramsSchema)).toContain('url');
  });

  it('task shows a finished task with its attempts, logs and result; an unknown id is null', async () => {
    const label = testLabel();
    const submitted = await submit(stack.admin, product(stack.catalogue, label, 'p7'));
    await waitForStatus(stack.admin, submitted.id);
    const task = (await stack.admin.task(submitted.id))!;
    expect(task).toMatchObject({
      id: submitted.id,
      type: 'single_product',
      queue: 'products',
      status: 'SUCCESS',
      progress: 100,
      attemptsMade: 1,
      labels: [label],
      result: { productId: 'p7', stored: 1 },
      lastError: null,
    });
    expect(task.attempts).toHaveLength(1);
    expect(task.attempts[0]).toMatchObject({ attempt: 1, stalled: false, error: null });
    expect(task.logs.map((l) => l.line)).toEqual(expect.arrayContaining(['fetching /products/p7']));
    expect(await stack.admin.task('no-such-task')).toBeNull();
  });

  it('tasks filters by label, type and status, newest first, a page at a time', async () => {
    const label = testLabel();
    const ids: string[] = [];
    for (const id of ['p1', 'p2', 'p3'])
      ids.push((await submit(stack.admin, product(stack.catalogue, label, id))).id);
    const first = await stack.admin.tasks({ filter: { labels: [label] }, first: 2 });
    expect(first.totalCount).toBe(3);
    expect(first.nodes.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await stack.admin.tasks({
      filter: { labels: [label] },
      first: 2,
      after: first.pageInfo.endCursor,
    });
    expect(second.nodes.map((t) => t.id)).toEqual([ids[0]]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const other = await stack.admin.tasks({ filter: { labels: [label], type: ['shop_crawl'] } });
    expect(other.totalCount).toBe(0);
    for (const id of ids) await waitForStatus(stack.admin, id);
    const done = await stack.admin.tasks({ filter: { labels: [label], status: ['SUCCESS'] } });
    expect(done.totalCount).toBe(3);
  });

  it('queues and queue show names, settings and counts; an unknown queue is null', async () => {
    const queues = await stack.admin.queues();
    expect(queues.map((q) => q.name)).toEqual(
      expect.arrayContaining(['products', 'search', 'shops', 'sync']),
    );
    const products = (await stack.admin.queue('products'))!;
    expect(products).toMatchObject({ name: 'products', paused: false, concurrency: 5 });
    expect(products.counts.succeeded).toBeGreaterThan(0);
    expect(await stack.admin.queue('no-such-queue')).toBeNull();
  });

  it('workers lists the running worker process and its queues', async () => {
    const [worker] = await stack.admin.workers();
    expect(worker).toMatchObject({ pid: stack.workers[0]!.pid });
    expect(worker!.queues).toEqual(expect.arrayContaining(['products', 'search', 'shops', 'sync']));
    expect(worker!.concurrency).toEqual(expect.arrayContaining([{ queue: 'products', concurrency: 5 }]));
  });

  it('deadLetters lists a task that failed for good with its last error', async () => {
    const label = testLabel();
    const task = await submit(stack.admin, product(stack.catalogue, label, 'missing'));
    expect((await waitForStatus(stack.admin, task.id)).status).toBe('DEAD_LETTERED');
    const page = await stack.admin.deadLetters({ filter: { labels: [label] } });
    expect(page.nodes).toHaveLength(1);
    expect(page.nodes[0]).toMatchObject({ id: task.id, error: { code: 'NOT_FOUND', retryable: false } });
    expect(page.nodes[0]!.task.status).toBe('DEAD_LETTERED');
  });

  it('apiTokens lists created tokens (never their secrets); bulkOperation of an unknown id is null', async () => {
    const created = unwrap(await stack.admin.createApiToken('queries-viewer', 'VIEWER'), 'CreatedApiToken');
    const tokens = await stack.admin.apiTokens();
    expect(tokens).toContainEqual(
      expect.objectContaining({ id: created.token.id, name: 'queries-viewer', role: 'VIEWER' }),
    );
    expect(JSON.stringify(tokens)).not.toContain(created.secret);
    expect(await stack.admin.bulkOperation('no-such-operation')).toBeNull();
  });
});
