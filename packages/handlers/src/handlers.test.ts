import {
  BUILTIN_TASK_TYPES,
  type ChildOutcome,
  ErrorCode,
  PermanentError,
  TransientError,
} from '@taskplane/core';
import {
  CATALOGUE_SIZE,
  type Catalogue,
  EPOCH,
  PAGE_SIZE,
  SHOPS,
  startCatalogue,
} from '@taskplane/test/catalogue';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { batchProducts } from './batch-products';
import { fullSync } from './full-sync';
import { builtinHandlers } from './index';
import { FannedOut, type MemoryContextOptions, memoryContext } from './memory-context';
import { searchKeywords } from './search-keywords';
import { shopCrawl } from './shop-crawl';
import { singleProduct } from './single-product';

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await startCatalogue();
});
afterAll(() => catalogue.close());
afterEach(() => catalogue.setFaults({}));

const context = (options: Partial<MemoryContextOptions> = {}) =>
  memoryContext({ catalogueBaseUrl: catalogue.url, ...options });

it('has a handler for every built-in task type', () => {
  expect(Object.keys(builtinHandlers).sort()).toEqual(BUILTIN_TASK_TYPES.map((t) => t.name).sort());
});

describe('single_product', () => {
  it('fetches, normalises and stores the product', async () => {
    const { ctx, products, progress, logs } = context();
    const result = await singleProduct({ url: `${catalogue.url}/products/p42` }, ctx);
    expect(result).toEqual({ productId: 'p42', stored: 1 });
    expect(products.get('p42')).toMatchObject({
      url: `${catalogue.url}/products/p42`,
      shopId: 's0',
      currency: 'USD',
      updatedAt: new Date(EPOCH + 42 * 3_600_000).toISOString(),
    });
    expect(typeof products.get('p42')?.price).toBe('number');
    expect(progress.at(-1)).toBe(100);
    expect(logs).toContain('fetching /products/p42');
  });

  it.each([
    ['a 5xx', '?fault=500', TransientError, ErrorCode.Transient],
    ['a malformed body', '?fault=malformed', TransientError, ErrorCode.Transient],
    ['a 429', '?fault=429&retry_after=2', TransientError, ErrorCode.RateLimited],
  ])('fails transiently on %s and stores nothing', async (_, query, type, code) => {
    const { ctx, products } = context();
    const error = await singleProduct({ url: `${catalogue.url}/products/p42${query}` }, ctx).catch((e) => e);
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
    expect(products.size).toBe(0);
  });

  it('passes the 429 wait on', async () => {
    catalogue.setFaults({ status429: true, retryAfterSeconds: 4 });
    const { ctx } = context();
    await expect(singleProduct({ url: `${catalogue.url}/products/p1` }, ctx)).rejects.toMatchObject({
      retryAfterMs: 4000,
    });
  });

  it('fails permanently on an unknown product', async () => {
    const { ctx } = context();
    const error = await singleProduct({ url: `${catalogue.url}/products/x1` }, ctx).catch((e) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.code).toBe(ErrorCode.NotFound);
  });

  it('stops a hanging request with the abort reason when the task is cancelled', async () => {
    const { ctx, controller } = context({ requestTimeoutMs: 60_000 });
    const before = catalogue.requests;
    const pending = singleProduct({ url: `${catalogue.url}/products/p1?fault=hang` }, ctx);
    await vi.waitFor(() => expect(catalogue.requests).toBe(before + 1));
    const reason = new Error('task cancelled');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('batch_products', () => {
  const urls = ['p1', 'p2', 'p3'].map((id) => `http://catalogue.test/products/${id}`);

  it('fans out one single_product child per URL on its first run', async () => {
    const { ctx } = context({ labels: { shop: 'acme' } });
    const error = await batchProducts({ urls, batch_size: 2 }, ctx).catch((e) => e);
    expect(error).toBeInstanceOf(FannedOut);
    expect((error as FannedOut).children).toEqual([
      {
        type: 'single_product',
        params: { url: urls[0] },
        labels: { shop: 'acme', batch: 'task-1', batch_chunk: '0' },
      },
      {
        type: 'single_product',
        params: { url: urls[1] },
        labels: { shop: 'acme', batch: 'task-1', batch_chunk: '0' },
      },
      {
        type: 'single_product',
        params: { url: urls[2] },
        labels: { shop: 'acme', batch: 'task-1', batch_chunk: '1' },
      },
    ]);
  });

  it('counts its children on the run after', async () => {
    const outcome = (id: string, failed: boolean): ChildOutcome => ({
      id,
      status: failed ? 'failed' : 'success',
      result: failed ? null : { productId: id },
      error: failed
        ? { code: ErrorCode.NotFound, message: 'GET /products/x answered 404', retryable: false }
        : null,
    });
    const { ctx, progress } = context({
      childOutcomes: [outcome('c1', false), outcome('c2', true), outcome('c3', false)],
    });
    expect(await batchProducts({ urls, batch_size: 50 }, ctx)).toEqual({
      total: 3,
      succeeded: 2,
      failed: 1,
      ignored: 0,
      failedIds: ['c2'],
    });
    expect(progress).toEqual([100]);
  });

  it('counts children left out under IGNORE, even when none is left', async () => {
    const { ctx } = context({ childOutcomes: [] });
    expect(await batchProducts({ urls, batch_size: 50 }, ctx)).toEqual({
      total: 3,
      succeeded: 0,
      failed: 0,
      ignored: 3,
      failedIds: [],
    });
  });
});

describe('search_keywords', () => {
  it('stores the requested result pages of every keyword', async () => {
    const { ctx, products, progress } = context();
    const before = catalogue.requests;
    const result = await searchKeywords({ keywords: ['kettle', 'lamp'], pages: 2 }, ctx);
    // Every search has at least two pages.
    expect(result).toEqual({ keywords: 2, pagesFetched: 4, productsStored: 4 * PAGE_SIZE });
    expect(catalogue.requests - before).toBe(4);
    expect(products.size).toBeGreaterThan(0);
    expect(progress).toEqual([25, 50, 75, 100]);
  });

  it('stops at the last page when asked for more', async () => {
    const { ctx } = context();
    const first = await fetch(`${catalogue.url}/search?q=kettle`).then((r) => r.json());
    const result = await searchKeywords({ keywords: ['kettle'], pages: 100 }, ctx);
    expect(result.pagesFetched).toBe(first.total_pages);
  });
});

describe('shop_crawl', () => {
  it("stores every page of a shop's listing", async () => {
    const { ctx, products, progress } = context();
    const result = await shopCrawl({ shop_id: 's1', max_pages: 10 }, ctx);
    const perShop = CATALOGUE_SIZE / SHOPS;
    expect(result).toEqual({ shopId: 's1', pagesFetched: perShop / PAGE_SIZE, productsStored: perShop });
    expect([...products.values()].every((p) => p.shopId === 's1')).toBe(true);
    expect(progress.at(-1)).toBe(100);
  });

  it('stops at max_pages', async () => {
    const { ctx } = context();
    expect(await shopCrawl({ shop_id: 's1', max_pages: 2 }, ctx)).toMatchObject({ pagesFetched: 2 });
  });

  it('fails permanently on an unknown shop', async () => {
    const { ctx } = context();
    await expect(shopCrawl({ shop_id: 'missing-shop', max_pages: 10 }, ctx)).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      message: 'GET /shops/missing-shop/products answered 404',
    });
  });

  it('stops between pages when the task is cancelled', async () => {
    const reason = new Error('task cancelled');
    const { ctx, controller, products } = context({ onProgress: () => controller.abort(reason) });
    const before = catalogue.requests;
    await expect(shopCrawl({ shop_id: 's1', max_pages: 10 }, ctx)).rejects.toBe(reason);
    expect(catalogue.requests - before).toBe(1);
    expect(products.size).toBe(PAGE_SIZE);
  });
});

describe('full_sync', () => {
  it('stores every product when no since is given', async () => {
    const { ctx, products } = context();
    const result = await fullSync({}, ctx);
    expect(result).toEqual({
      since: null,
      pagesFetched: CATALOGUE_SIZE / PAGE_SIZE,
      productsStored: CATALOGUE_SIZE,
      latestUpdatedAt: new Date(EPOCH + CATALOGUE_SIZE * 3_600_000).toISOString(),
    });
    expect(products.size).toBe(CATALOGUE_SIZE);
  });

  it('stores only the products changed since a time', async () => {
    const since = new Date(EPOCH + 100 * 3_600_000).toISOString();
    const { ctx, products } = context();
    const result = await fullSync({ since }, ctx);
    expect(result).toMatchObject({ since, productsStored: CATALOGUE_SIZE - 100 });
    expect([...products.keys()].sort()).toEqual(
      Array.from({ length: CATALOGUE_SIZE - 100 }, (_, i) => `p${101 + i}`).sort(),
    );
  });

  it('fails transiently when the catalogue fails part-way', async () => {
    catalogue.setFaults({ errorRate: 0.5 });
    const { ctx } = context();
    await expect(fullSync({}, ctx)).rejects.toBeInstanceOf(TransientError);
  });
});
