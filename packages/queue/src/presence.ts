import { hostname } from 'node:os';
import type { Keys } from '@taskplane/core';
import type { ChainableCommander, Redis } from 'ioredis';

/** A worker process as it announces itself. */
export interface WorkerPresence {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: Record<string, number>;
  runningTasks: string[];
  memoryRss: number;
  startedAt: number;
  lastSeenAt: number;
}

/** Wire-level kinds of presence changes. */
export const PresenceKind = { Online: 'online', Heartbeat: 'heartbeat', Offline: 'offline' } as const;
export type PresenceKind = (typeof PresenceKind)[keyof typeof PresenceKind];

export interface PresenceChange {
  kind: PresenceKind;
  worker: WorkerPresence;
}

/**
 * Presence changes kept in the stream (approximately). Readers follow it as it is written; a change
 * lost to a long outage is also recovered by the next heartbeat record.
 */
export const PRESENCE_LOG_MAX_LEN = 1_000;

/** The stream field holding a change's JSON. */
const FIELD = 'm';

/** A presence stream entry's fields as a change; null when unreadable. */
export function decodePresence(fields: string[]): PresenceChange | null {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== FIELD) continue;
    try {
      return JSON.parse(fields[i + 1] ?? '') as PresenceChange;
    } catch {
      return null;
    }
  }
  return null;
}

export function presenceBase(
  id: string,
  queues: string[],
): Pick<WorkerPresence, 'id' | 'host' | 'pid' | 'queues' | 'startedAt'> {
  return { id, host: hostname(), pid: process.pid, queues, startedAt: Date.now() };
}

/** Writes this process's heartbeat: a record that expires unless renewed, so a dead worker vanishes. */
export async function beat(
  redis: Redis,
  keys: Keys,
  presence: WorkerPresence,
  ttlMs: number,
  kind: PresenceKind,
): Promise<void> {
  const json = JSON.stringify(presence);
  const multi = redis
    .multi()
    .set(keys.worker(presence.id), json, 'PX', ttlMs)
    .zadd(keys.workers, presence.lastSeenAt, presence.id);
  await announce(multi, keys, { kind, worker: presence }).exec();
}

/** Appends a presence change to the log every API process follows, in the caller's MULTI. */
function announce(multi: ChainableCommander, keys: Keys, change: PresenceChange): ChainableCommander {
  return multi.xadd(keys.workersLog, 'MAXLEN', '~', PRESENCE_LOG_MAX_LEN, '*', FIELD, JSON.stringify(change));
}

export async function leave(redis: Redis, keys: Keys, presence: WorkerPresence): Promise<void> {
  const multi = redis.multi().del(keys.worker(presence.id)).zrem(keys.workers, presence.id);
  await announce(multi, keys, { kind: PresenceKind.Offline, worker: presence }).exec();
}

/** The worker processes alive now. Records that expired are dropped from the set as they are found. */
export async function listWorkers(redis: Redis, keys: Keys): Promise<WorkerPresence[]> {
  const ids = await redis.zrange(keys.workers, 0, -1);
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map((id) => keys.worker(id)));
  const gone = ids.filter((_, i) => values[i] === null);
  if (gone.length) await redis.zrem(keys.workers, ...gone);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerPresence);
}

/**
 * Tasks of `queue` the workers can run at once: the concurrency each consumer announces for it,
 * summed, under the queue's global cap (null = none).
 */
export function queueSlots(
  queue: string,
  globalConcurrency: number | null,
  workers: WorkerPresence[],
): number {
  const offered = workers
    .filter((w) => w.queues.includes(queue))
    .reduce((sum, w) => sum + (w.concurrency[queue] ?? 0), 0);
  return globalConcurrency ? Math.min(globalConcurrency, offered) : offered;
}
