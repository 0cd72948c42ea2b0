import { FINAL_STATUSES, type Task } from '@taskplane/core';
import type { TaskEngine } from './task-engine';

const BATCH = 500;

/**
 * Trim finished task records by age and by count per status, records and indexes together. Walks
 * only the finished index and the status indexes (oldest first), never the keyspace. BullMQ trims
 * its own finished jobs (removeOnComplete/removeOnFail); this trims ours.
 */
export async function trimFinished(engine: TaskEngine, now = Date.now()): Promise<number> {
  const { config, keys, redis, store } = engine;
  let removed = 0;
  const drop = async (ids: string[]) => {
    const tasks = (await store.getMany(ids)).filter((t): t is Task => t !== null);
    await engine.deleteTasks(tasks, { bullJobs: false });
    // Index entries whose record is already gone are dropped too.
    const gone = ids.filter((id) => !tasks.some((t) => t.id === id));
    if (gone.length) await redis.zrem(keys.indexFinished, ...gone);
    removed += ids.length;
  };

  const cutoff = now - config.retention.finished_max_age;
  for (;;) {
    const ids = await redis.zrangebyscore(keys.indexFinished, '-inf', cutoff, 'LIMIT', 0, BATCH);
    if (ids.length === 0) break;
    await drop(ids);
    if (ids.length < BATCH) break;
  }

  for (const status of FINAL_STATUSES) {
    for (;;) {
      const surplus = (await redis.zcard(keys.indexStatus(status))) - config.retention.finished_max_count;
      if (surplus <= 0) break;
      const ids = await redis.zrange(keys.indexStatus(status), 0, Math.min(surplus, BATCH) - 1);
      if (ids.length === 0) break;
      await drop(ids);
      // An index entry without a record would otherwise be counted forever.
      await redis.zrem(keys.indexStatus(status), ...ids);
    }
  }
  return removed;
}
