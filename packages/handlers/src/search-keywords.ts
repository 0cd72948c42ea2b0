import type { SearchKeywordsParams, TaskHandler } from '@taskplane/core';
import { catalogueUrl, percent, syncListing } from './listing';

export interface SearchKeywordsResult {
  keywords: number;
  pagesFetched: number;
  /** Products written; a product found by two keywords is written (and counted) twice. */
  productsStored: number;
}

/** `search_keywords`: searches each keyword in turn, storing up to `pages` result pages each. */
export const searchKeywords: TaskHandler<SearchKeywordsParams, SearchKeywordsResult> = async (
  params,
  ctx,
) => {
  const { keywords } = params;
  const result: SearchKeywordsResult = { keywords: keywords.length, pagesFetched: 0, productsStored: 0 };
  for (const [index, keyword] of keywords.entries()) {
    const totals = await syncListing(ctx, {
      pageUrl: (page) => catalogueUrl(ctx, 'search', { q: keyword, page }),
      maxPages: params.pages,
      onProgress: (done) => ctx.progress(percent((index + done) / keywords.length)),
    });
    result.pagesFetched += totals.pagesFetched;
    result.productsStored += totals.productsStored;
    ctx.log(`"${keyword}": stored ${totals.productsStored} products from ${totals.pagesFetched} page(s)`);
  }
  return result;
};
