import type { Keys } from '@taskplane/core';
import { streamLastId } from '@taskplane/events';
import type { Redis } from 'ioredis';
import { decodePresence, listWorkers, PresenceKind, type WorkerPresence } from '../presence';

/** Presence entries the evaluator applies per pass; a longer backlog is caught up over several passes. */
const PRESENCE_CHUNK = 1_000;

/** What one look at presence found, and what to write back with the evaluation. */
export interface WorkerWatch {
  /** Workers seen online that neither left nor kept their heartbeat record: gone. */
  gone: WorkerPresence[];
  workersSet: [string, string][];
  workersDel: string[];
  /** The presence stream entry read last; null when nothing new was read. */
  cursor: string | null;
}

/**
 * Finds workers that died without a goodbye. The evaluator keeps the workers it saw online
 * (`Keys.alertsWorkers`, updated from the presence stream `Keys.workersLog` after its saved
 * cursor); a graceful stop appends `offline` in the same MULTI that deletes the heartbeat record,
 * so a known worker whose record is gone and whose `offline` is not in the stream was killed.
 * The records are checked before the stream is read: a leave in between is then seen in the read.
 * The first look (no cursor yet) starts from the workers alive now, so workers that died before
 * alerting existed do not all alert at once.
 */
export async function watchWorkers(
  redis: Redis,
  keys: Keys,
  known: Record<string, string>,
  cursor: string | null,
): Promise<WorkerWatch> {
  const watch: WorkerWatch = { gone: [], workersSet: [], workersDel: [], cursor: null };
  if (cursor === null) {
    watch.cursor = await streamLastId(redis, keys.workersLog);
    for (const worker of await listWorkers(redis, keys))
      watch.workersSet.push([worker.id, JSON.stringify(worker)]);
    return watch;
  }
  const ids = Object.keys(known);
  const records = ids.length ? await redis.mget(ids.map((id) => keys.worker(id))) : [];
  const entries = (await redis.xrange(keys.workersLog, `(${cursor}`, '+', 'COUNT', PRESENCE_CHUNK)) as [
    string,
    string[],
  ][];
  const seen = new Map<string, WorkerPresence | null>();
  for (const [id, fields] of entries) {
    const change = decodePresence(fields);
    if (change) seen.set(change.worker.id, change.kind === PresenceKind.Offline ? null : change.worker);
    watch.cursor = id;
  }
  ids.forEach((id, i) => {
    if (records[i] !== null || seen.has(id)) return;
    watch.gone.push(JSON.parse(known[id]!) as WorkerPresence);
    watch.workersDel.push(id);
  });
  for (const [id, worker] of seen) {
    if (worker) watch.workersSet.push([id, JSON.stringify(worker)]);
    else if (id in known) watch.workersDel.push(id);
  }
  return watch;
}
