import { type Keys, ValidationError } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { QueueSettings } from './queue-settings';

/** One fair group of a queue as `queue { groups }` shows it (see scripts/groups.lua). */
export interface GroupCounts {
  name: string;
  /** Parked in the group's lane, waiting for its turn. */
  waiting: number;
  /** Taken from the lane and waiting in BullMQ for a worker (or for a rate-limit token). */
  queued: number;
  running: number;
  /** Taken from the lane and not finished (queued, running, retrying): what the concurrency limit counts. */
  inFlight: number;
}

export interface GroupPage {
  groups: GroupCounts[];
  /** Null on the last page. */
  nextCursor: string | null;
}

/** Most groups a page asks HSCAN for. */
export const MAX_GROUP_PAGE = 500;

/** `"<parked> <queued> <running> <in flight> <in ring>"` as the scripts store it. */
function parseCounts(name: string, value: string): GroupCounts {
  const [waiting = 0, queued = 0, running = 0, inFlight = 0] = value.split(' ').map(Number);
  return { name, waiting, queued, running, inFlight };
}

/**
 * A page of a queue's groups, in HSCAN order (not sorted), about `first` per page: HSCAN's COUNT
 * is a hint, and a small hash comes back whole. Groups with nothing parked, queued or running
 * are left out (a group is removed from the counts once the ring lets it go).
 */
export async function listGroups(
  redis: Redis,
  keys: Keys,
  queue: string,
  first: number,
  after: string | null = null,
): Promise<GroupPage> {
  if (!Number.isInteger(first) || first < 1 || first > MAX_GROUP_PAGE) {
    throw new ValidationError(`first must be between 1 and ${MAX_GROUP_PAGE}`, [
      { path: 'first', message: `must be between 1 and ${MAX_GROUP_PAGE}` },
    ]);
  }
  if (after !== null && !/^[1-9][0-9]*$/.test(after)) {
    throw new ValidationError('after is not a cursor of this list; pass a pageInfo.endCursor', [
      { path: 'after', message: 'not a cursor of this list' },
    ]);
  }
  const [cursor, flat] = await redis.hscan(keys.groupCounts(queue), after ?? '0', 'COUNT', first);
  const groups: GroupCounts[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const counts = parseCounts(flat[i]!, flat[i + 1]!);
    if (counts.waiting + counts.queued + counts.running + counts.inFlight > 0) groups.push(counts);
  }
  return { groups, nextCursor: cursor === '0' ? null : cursor };
}

/**
 * Hand a queue's group limits to the dispatcher (the scripts read them from Redis: they cannot
 * read the configuration), with the preemption threshold, above which a grouped task skips the
 * ring. Written where BullMQ's own limits are (`TaskEngine.applyLimits`) and before the first
 * grouped submit of a process.
 */
export async function writeGroupLimits(
  redis: Redis,
  keys: Keys,
  queue: string,
  settings: QueueSettings,
): Promise<void> {
  const { concurrency, rateLimit, window } = settings.groups;
  await redis.hset(keys.groupState(queue), {
    concurrency: concurrency ?? '',
    rateMax: rateLimit?.max ?? '',
    rateDuration: rateLimit?.durationMs ?? '',
    window,
    below: settings.preemption?.below ?? '',
  });
}
