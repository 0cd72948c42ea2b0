import type { ShopCrawlParams, TaskHandler } from '@taskplane/core';
import { catalogueUrl, percent, syncListing } from './listing';

export interface ShopCrawlResult {
  shopId: string;
  pagesFetched: number;
  productsStored: number;
}

/** `shop_crawl`: walks a shop's product listing, up to `max_pages` pages. An unknown shop is permanent. */
export const shopCrawl: TaskHandler<ShopCrawlParams, ShopCrawlResult> = async (params, ctx) => {
  ctx.log(`crawling shop ${params.shop_id}, up to ${params.max_pages} page(s)`);
  const { pagesFetched, productsStored } = await syncListing(ctx, {
    pageUrl: (page) => catalogueUrl(ctx, `shops/${encodeURIComponent(params.shop_id)}/products`, { page }),
    maxPages: params.max_pages,
    onProgress: (done) => ctx.progress(percent(done)),
  });
  ctx.log(`shop ${params.shop_id}: stored ${productsStored} products from ${pagesFetched} page(s)`);
  return { shopId: params.shop_id, pagesFetched, productsStored };
};
