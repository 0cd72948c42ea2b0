import type { SingleProductParams, TaskHandler } from '@taskplane/core';
import { fetchJson, requestOptions } from './http';
import { normaliseProduct } from './normalise';

export interface SingleProductResult {
  productId: string;
  /** Products written by the store (0 or 1). */
  stored: number;
}

/** `single_product`: fetches the product at `url` (a catalogue product URL) and stores it. */
export const singleProduct: TaskHandler<SingleProductParams, SingleProductResult> = async (params, ctx) => {
  ctx.log(`fetching ${new URL(params.url).pathname}`);
  const product = normaliseProduct(await fetchJson(params.url, requestOptions(ctx)));
  const stored = await ctx.storeProducts([product]);
  await ctx.progress(100);
  ctx.log(`stored product ${product.id} (${product.title})`);
  return { productId: product.id, stored };
};
