import type { HandlerContext } from '@taskplane/core';
import { fetchJson, requestOptions } from './http';
import { CataloguePage, normaliseProduct, parseCatalogue } from './normalise';

/** `catalogueUrl(ctx, 'search', { q: 'tea', page: 2 })`; undefined query values are left out. */
export function catalogueUrl(
  ctx: Pick<HandlerContext, 'settings'>,
  path: string,
  query: Record<string, string | number | undefined> = {},
): string {
  // A trailing slash keeps a base path (`https://host/api`) when the relative path is resolved.
  const url = new URL(path, ctx.settings.catalogueBaseUrl.replace(/\/*$/, '/'));
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

export interface ListingWalk {
  /** The URL of a page, counting from 1. */
  pageUrl(page: number): string;
  /** Stop after this many pages even when the listing has more. */
  maxPages: number;
  /** Called after each page with the share of this walk done, 0-1. */
  onProgress(done: number): Promise<void>;
}

export interface ListingTotals {
  pagesFetched: number;
  productsStored: number;
  /** The newest `updatedAt` among the products seen; null when there were none. */
  latestUpdatedAt: string | null;
}

/** Converts a share done (0-1) to the whole percentage `ctx.progress` takes. */
export function percent(done: number): number {
  return Math.min(100, Math.round(done * 100));
}

/**
 * Walks a paginated catalogue listing from page 1 until its `total_pages`, an empty page or
 * `maxPages`, storing each page's products before fetching the next. The task's signal is checked
 * between pages, so a cancelled walk stops at once (rejecting with the signal's reason).
 */
export async function syncListing(ctx: HandlerContext, walk: ListingWalk): Promise<ListingTotals> {
  const totals: ListingTotals = { pagesFetched: 0, productsStored: 0, latestUpdatedAt: null };
  for (let page = 1; page <= walk.maxPages; page++) {
    ctx.signal.throwIfAborted();
    const url = walk.pageUrl(page);
    const body = await fetchJson(url, requestOptions(ctx));
    const listing = parseCatalogue(CataloguePage, body, `listing page ${page} of ${new URL(url).pathname}`);
    const products = listing.items.map(normaliseProduct);
    if (products.length > 0) totals.productsStored += await ctx.storeProducts(products);
    for (const product of products) {
      if (totals.latestUpdatedAt === null || product.updatedAt > totals.latestUpdatedAt) {
        totals.latestUpdatedAt = product.updatedAt;
      }
    }
    totals.pagesFetched++;
    const lastPage = Math.min(walk.maxPages, listing.total_pages);
    await walk.onProgress(page / Math.max(page, lastPage));
    if (page >= lastPage || products.length === 0) break;
  }
  return totals;
}
