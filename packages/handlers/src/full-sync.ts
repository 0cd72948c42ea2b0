import type { FullSyncParams, TaskHandler } from '@taskplane/core';
import { catalogueUrl, percent, syncListing } from './listing';

/**
 * A full sync stops after this many pages even if the catalogue reports more, so a listing that
 * grows as fast as it is read cannot keep a task running forever (the type's timeout is 1 hour).
 */
export const FULL_SYNC_MAX_PAGES = 100_000;

export interface FullSyncResult {
  since: string | null;
  pagesFetched: number;
  productsStored: number;
  /** The newest change seen: pass it as the next sync's `since`. null when nothing changed. */
  latestUpdatedAt: string | null;
}

/** `full_sync`: stores every product changed since `since` (every product when absent). */
export const fullSync: TaskHandler<FullSyncParams, FullSyncResult> = async (params, ctx) => {
  const since = params.since ?? null;
  ctx.log(since === null ? 'syncing every product' : `syncing products changed since ${since}`);
  const totals = await syncListing(ctx, {
    pageUrl: (page) => catalogueUrl(ctx, 'changes', { since: params.since, page }),
    maxPages: FULL_SYNC_MAX_PAGES,
    onProgress: (done) => ctx.progress(percent(done)),
  });
  ctx.log(`stored ${totals.productsStored} products from ${totals.pagesFetched} page(s)`);
  return { since, ...totals };
};
