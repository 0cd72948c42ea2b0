import type { BatchProductsParams, TaskHandler, TaskInput } from '@taskplane/core';

export interface BatchProductsResult {
  total: number;
  succeeded: number;
  failed: number;
  /** Children that failed and were left out under the `ignore` policy (not in `failed`). */
  ignored: number;
  /** Task ids of the children that failed, to inspect or retry. */
  failedIds: string[];
}

/**
 * `batch_products` runs twice. The first run fans out one `single_product` child per URL, in the
 * order of `urls` (duplicates included), and ends. Each child carries the parent's labels plus
 * `batch=<parent task id>` and `batch_chunk=<n>`, where chunk n holds URLs n*batch_size to
 * (n+1)*batch_size-1, so an operator can find one slice of a large batch. `batch_size` changes
 * nothing else: every child is submitted at once, and how many run together is the products
 * queue's concurrency. The second run, after every child has finished, counts their outcomes.
 * What a failed child does to the batch is the task's `onChildFailure`: with `fail_parent` the
 * batch fails at the first failed product and there is no second run.
 */
export const batchProducts: TaskHandler<BatchProductsParams, BatchProductsResult> = async (params, ctx) => {
  const outcomes = await ctx.childOutcomes();
  if (outcomes === null) {
    const children = params.urls.map(
      (url, index): TaskInput => ({
        type: 'single_product',
        params: { url },
        labels: {
          ...ctx.labels,
          batch: ctx.taskId,
          batch_chunk: String(Math.floor(index / params.batch_size)),
        },
      }),
    );
    const chunks = Math.ceil(children.length / params.batch_size);
    ctx.log(`fanning out ${children.length} single_product tasks in ${chunks} chunk(s)`);
    return ctx.fanOut(children);
  }

  const failedIds = outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.id);
  // One child per URL was submitted; under `ignore`, the failed ones are not among the outcomes.
  const result = {
    total: params.urls.length,
    succeeded: outcomes.length - failedIds.length,
    failed: failedIds.length,
    ignored: Math.max(0, params.urls.length - outcomes.length),
    failedIds,
  };
  ctx.log(`${result.succeeded} of ${result.total} products synced, ${result.failed} failed`);
  await ctx.progress(100);
  return result;
};
