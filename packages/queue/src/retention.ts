import { FINAL_STATUSES, FINAL_WORKFLOW_STATUSES } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { workflowTrim } from './scripts';
import type { TaskEngine } from './task-engine';

const BATCH = 500;

/**
 * Trims a page of ids and says how many it kept (refused: requeued meanwhile, or finished after
 * the cutoff). Kept ids stay in the index: the walks step over them, never loop on them.
 */
type TrimPage = (ids: string[]) => Promise<number>;

/** Trim the members of `index` scored at or before `cutoff`, oldest first. */
async function trimScoredUpTo(redis: Redis, index: string, cutoff: number, trim: TrimPage): Promise<void> {
  for (let skip = 0; ; ) {
    const ids = await redis.zrangebyscore(index, '-inf', cutoff, 'LIMIT', skip, BATCH);
    if (ids.length === 0) break;
    skip += await trim(ids);
    if (ids.length < BATCH) break;
  }
}

/** Trim the oldest members of `index` beyond the newest `keep`. */
async function trimBeyond(redis: Redis, index: string, keep: number, trim: TrimPage): Promise<void> {
  for (let skip = 0; ; ) {
    const surplus = (await redis.zcard(index)) - keep;
    if (surplus <= skip) break;
    const ids = await redis.zrange(index, skip, skip + Math.min(surplus - skip, BATCH) - 1);
    if (ids.length === 0) break;
    skip += await trim(ids);
  }
}

/**
 * Trim finished task records by age and by count per status. Walks only the finished index and
 * the status indexes (oldest first), never the keyspace, and deletes through the one delete script
 * (`TaskEngine.deleteTasks`), so indexes, idempotency keys and subscribers (a `deleted` event per
 * task) stay consistent. BullMQ trims its own finished jobs (removeOnComplete/removeOnFail).
 */
export async function trimFinished(engine: TaskEngine, now = Date.now()): Promise<number> {
  const { config, keys, redis } = engine;
  let removed = 0;
  const drop = async (ids: string[], finishedBefore?: number): Promise<number> => {
    const outcomes = await engine.deleteTasks(ids, finishedBefore === undefined ? {} : { finishedBefore });
    removed += outcomes.filter((o) => o === 'deleted').length;
    return outcomes.filter((o) => o === 'refused').length;
  };
  const cutoff = now - config.retention.finished_max_age;
  await trimScoredUpTo(redis, keys.indexFinished, cutoff, (ids) => drop(ids, cutoff + 1));
  for (const status of FINAL_STATUSES)
    await trimBeyond(redis, keys.indexStatus(status), config.retention.finished_max_count, (ids) =>
      drop(ids),
    );
  return removed;
}

/**
 * Trim finished workflows (their hash, node map and index entries; their nodes are tasks, trimmed
 * above) by the same age and count per status as tasks, through `workflow-trim.lua`, which checks
 * each is still finished and old enough. Walks only the finished statuses' indexes, oldest first.
 */
export async function trimFinishedWorkflows(engine: TaskEngine, now = Date.now()): Promise<number> {
  const { config, keys, redis } = engine;
  const cutoff = now - config.retention.finished_max_age;
  let removed = 0;
  const trim = async (ids: string[], finishedBy: number): Promise<number> => {
    const deleted = await workflowTrim(redis, keys, finishedBy, ids);
    removed += deleted;
    return ids.length - deleted;
  };
  for (const status of FINAL_WORKFLOW_STATUSES) {
    const index = keys.workflowsByStatus(status);
    // Scores are creation times: a workflow created before the cutoff may have finished after it.
    await trimScoredUpTo(redis, index, cutoff, (ids) => trim(ids, cutoff));
    await trimBeyond(redis, index, config.retention.finished_max_count, (ids) =>
      trim(ids, Number.MAX_SAFE_INTEGER),
    );
  }
  return removed;
}
