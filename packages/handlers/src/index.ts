/**
 * Task handlers: the built-in product-sync handlers and the SDK for writing your own.
 *
 * A handler is a plain async function `(params, ctx) => result` (core's `TaskHandler`). `params`
 * have already been validated against the task type's schema, defaults applied. Through `ctx` it
 * gets the task's `signal` (aborted on cancel, timeout and shutdown: pass it to every I/O call,
 * as {@link fetchJson} does with {@link requestOptions}), `log` for the task's own log,
 * `progress` (0-100), `storeProducts`, and `fanOut`/`childOutcomes` for tasks that split into
 * children. Its return value, JSON, becomes the task's result.
 *
 * Errors steer retries: throw `PermanentError` for what retrying cannot fix, `TransientError`
 * (or anything else) for what it may; `fetchJson` already classifies HTTP failures this way.
 * Because a handler only sees `ctx`, it can be unit tested with a plain object and no Redis.
 *
 * ```ts
 * export default defineHandlers({
 *   price_check: async (params: { url: string }, ctx) => {
 *     const body = await fetchJson(params.url, requestOptions(ctx));
 *     ctx.log('checked');
 *     return { ok: body !== null };
 *   },
 * });
 * ```
 */
import type { HandlerMap } from '@taskplane/core';
import { batchProducts } from './batch-products';
import { fullSync } from './full-sync';
import { searchKeywords } from './search-keywords';
import { shopCrawl } from './shop-crawl';
import { singleProduct } from './single-product';

export type { BatchProductsResult } from './batch-products';
export type { FullSyncResult } from './full-sync';
export { type FetchJsonOptions, fetchJson, parseRetryAfter, requestOptions } from './http';
export { catalogueUrl, type ListingTotals, type ListingWalk, syncListing } from './listing';
export { CatalogueProduct, normaliseProduct } from './normalise';
export type { SearchKeywordsResult } from './search-keywords';
export type { ShopCrawlResult } from './shop-crawl';
export type { SingleProductResult } from './single-product';

/**
 * Declares a module of handlers (task type name to handler). It returns `map` unchanged; it is
 * there so a deployment's handler module is type-checked as one, with `ctx` typed in every handler.
 */
export function defineHandlers<M extends HandlerMap>(map: M): M {
  return map;
}

/** The handlers of core's `BUILTIN_TASK_TYPES`, by task type name. */
export const builtinHandlers: HandlerMap = defineHandlers({
  single_product: singleProduct,
  batch_products: batchProducts,
  search_keywords: searchKeywords,
  shop_crawl: shopCrawl,
  full_sync: fullSync,
});
