import type { TaskEvent } from '@taskplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalogue, startCatalogue } from '../fixtures/catalogue';
import { type TestEngine, testEngine } from '../helpers/engine';
import { type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';

// The built-in product-sync task types, run by a real worker against the catalogue fixture.

const CONFIG = {
  retry: { base_delay: '100ms', max_delay: '5s', jitter: 0 },
  workers: { heartbeat_interval: '1s' },
};
const kinds = (events: TaskEvent[], id: string) => events.filter((e) => e.taskId === id).map((e) => e.kind);

let catalogue: Catalogue;
let t: TestEngine;
let worker: RunningProcess;

beforeAll(async () => {
  catalogue = await startCatalogue();
  const prefix = uniquePrefix('sync');
  t = testEngine(prefix, CONFIG);
  worker = await startApp('worker', {
    prefix,
    configOverrides: CONFIG,
    env: { TASKPLANE_CATALOGUE__BASE_URL: catalogue.url },
  });
  await worker.waitForLine(/worker ready/, 20_000);
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
  await catalogue?.close();
});

describe('product sync', () => {
  it('stores a product and returns its id', async () => {
    const { task } = await t.engine.submit({
      type: 'single_product',
      params: { url: `${catalogue.url}/products/p7` },
    });
    await t.waitFor((all) => kinds(all, task.id).includes('succeeded'), 20_000, 'the product');
    const done = await t.engine.store.getOrThrow(task.id);
    expect(done.result).toEqual({ productId: 'p7', stored: 1 });
    const stored = JSON.parse((await t.engine.redis.hget(t.engine.keys.products, 'p7'))!);
    expect(stored).toMatchObject({ id: 'p7', shopId: 's1' });
  });

  it('fans a batch out to one child per URL and counts what they became', async () => {
    const urls = [1, 2, 3, 4].map((n) => `${catalogue.url}/products/p${n}`);
    urls.push(`${catalogue.url}/products/unknown-item`);
    const { task } = await t.engine.submit({
      type: 'batch_products',
      params: { urls },
      labels: { run: 'batch-test' },
    });
    const events = await t.waitFor((all) => kinds(all, task.id).includes('succeeded'), 30_000, 'the batch');
    expect(kinds(events, task.id)).toEqual(
      expect.arrayContaining(['submitted', 'started', 'blocked', 'ready', 'started', 'succeeded']),
    );
    const parent = await t.engine.store.getOrThrow(task.id);
    expect(parent.result).toMatchObject({ total: 5, succeeded: 4, failed: 1 });
    // Waiting for its children and carrying on is one attempt, not two.
    expect(parent.attemptsMade).toBe(1);
    expect(parent.attempts).toHaveLength(1);
    expect(parent.attempts[0]!.finishedAt).toBeGreaterThanOrEqual(parent.attempts[0]!.startedAt!);
    const starts = events.filter((e) => e.taskId === task.id && e.kind === 'started');
    expect(starts.map((e) => [e.data.attempt, e.data.resumed])).toEqual([
      [1, false],
      [1, true],
    ]);
    const children = await t.engine.store.children(task.id);
    expect(children).toHaveLength(5);
    expect(
      children.every(
        (c) => c.parentId === task.id && c.labels.batch === task.id && c.labels.run === 'batch-test',
      ),
    ).toBe(true);
    const failed = children.find((c) => c.status === 'dead_lettered')!;
    expect((parent.result as { failedIds: string[] }).failedIds).toEqual([failed.id]);
    // A 404 is permanent: one attempt, no retry.
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]!.error).toMatchObject({ code: 'NOT_FOUND', retryable: false });
  });

  it('fails a batch at its first failed product under FAIL_PARENT, and leaves it out under IGNORE', async () => {
    const urls = [`${catalogue.url}/products/p1`, `${catalogue.url}/products/unknown-item`];
    const [{ task: strict }, { task: lenient }] = await Promise.all([
      t.engine.submit({ type: 'batch_products', params: { urls }, onChildFailure: 'fail_parent' }),
      t.engine.submit({ type: 'batch_products', params: { urls }, onChildFailure: 'ignore' }),
    ]);
    await t.waitFor(
      (all) =>
        kinds(all, strict.id).includes('dead_lettered') && kinds(all, lenient.id).includes('succeeded'),
      30_000,
      'both batches',
    );
    const [failedBatch, okBatch] = await t.engine.store.getMany([strict.id, lenient.id]);
    const failedChild = (await t.engine.store.children(strict.id)).find((c) => c.status === 'dead_lettered')!;
    expect(failedBatch!.attempts.at(-1)!.error).toMatchObject({
      code: 'CHILD_FAILED',
      message: `child ${failedChild.id} failed: ${failedChild.attempts[0]!.error!.message}`,
      retryable: false,
    });
    expect(okBatch!.result).toEqual({ total: 2, succeeded: 1, failed: 0, ignored: 1, failedIds: [] });
  });

  it('reports progress as events while a search runs, ending at 100', async () => {
    const { task } = await t.engine.submit({
      type: 'search_keywords',
      params: { keywords: ['lamp', 'chair'], pages: 3 },
    });
    const events = await t.waitFor((all) => kinds(all, task.id).includes('succeeded'), 30_000, 'the search');
    const progress = events
      .filter((e) => e.taskId === task.id && e.kind === 'progress')
      .map((e) => e.data.progress as number);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(progress.at(-1)).toBe(100);
    // Progress events come between the start and the end of the run.
    const order = kinds(events, task.id).filter((k) => k !== 'log');
    expect(order[0]).toBe('submitted');
    expect(order[1]).toBe('started');
    expect(order.at(-1)).toBe('succeeded');
    expect(new Set(order.slice(2, -1))).toEqual(new Set(['progress']));
    expect((await t.engine.store.getOrThrow(task.id)).progress).toBe(100);
  });

  it("waits for a server's Retry-After before trying again after a 429", async () => {
    const url = `${catalogue.url}/products/p9?fault=429&retry_after=1`;
    const { task } = await t.engine.submit({ type: 'single_product', params: { url }, maxAttempts: 2 });
    await t.waitFor((all) => kinds(all, task.id).includes('dead_lettered'), 30_000, 'both attempts');
    const dead = await t.engine.store.getOrThrow(task.id);
    expect(dead.attempts.map((a) => a.error?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    const gap = dead.attempts[1]!.startedAt! - dead.attempts[0]!.finishedAt!;
    expect(gap).toBeGreaterThanOrEqual(995);
  });

  it('retries 5xx answers and succeeds once the source recovers', async () => {
    catalogue.setFaults({ errorRate: 1 });
    const { task } = await t.engine.submit({
      type: 'single_product',
      params: { url: `${catalogue.url}/products/p11` },
      maxAttempts: 10,
    });
    await t.waitFor(
      (all) => kinds(all, task.id).filter((k) => k === 'retrying').length >= 2,
      20_000,
      'two failed attempts',
    );
    catalogue.setFaults({});
    await t.waitFor((all) => kinds(all, task.id).includes('succeeded'), 20_000, 'recovery');
    const done = await t.engine.store.getOrThrow(task.id);
    expect(done.attempts.slice(0, 2).map((a) => a.error)).toEqual([
      expect.objectContaining({ code: 'TRANSIENT', retryable: true }),
      expect.objectContaining({ code: 'TRANSIENT', retryable: true }),
    ]);
    expect(done.attempts.at(-1)!.error).toBeNull();
  });
});
