import {
  DEFAULT_GROUP_WINDOW,
  type Keys,
  PRIORITY_MAX,
  PRIORITY_MIN,
  type TaskplaneConfig,
  ValidationError,
} from '@taskplane/core';
import type { Redis } from 'ioredis';

/** A queue's run-time settings, shared by every worker process through Redis. */
export interface QueueSettings {
  concurrency: number;
  rateLimit: { max: number; durationMs: number } | null;
  globalConcurrency: number | null;
  /** Preemption threshold (see `QueueConfig.preemption`); null = off. */
  preemption: { below: number } | null;
  /** Limits of each fair group of the queue (see `GroupsConfig`). */
  groups: GroupSettings;
}

/** Limits that apply to each fair group of a queue on its own (see `GroupsConfig`). */
export interface GroupSettings {
  /** Tasks of one group in flight at once; null = no limit. */
  concurrency: number | null;
  /** Starts of one group per window; null = unlimited. */
  rateLimit: { max: number; durationMs: number } | null;
  /** Grouped tasks waiting in BullMQ at most, across the queue's groups. */
  window: number;
}

/** A change of a queue's settings: what it names changes, the rest stays (group limits one by one). */
export type QueueSettingsChange = Partial<Omit<QueueSettings, 'groups'>> & {
  groups?: Partial<GroupSettings>;
};

export function configuredSettings(config: TaskplaneConfig, queue: string): QueueSettings {
  const q = config.queues[queue];
  return {
    concurrency: q?.concurrency ?? config.workers.default_count,
    rateLimit: q?.rate_limit ? { max: q.rate_limit.max, durationMs: q.rate_limit.duration } : null,
    globalConcurrency: q?.global_concurrency ?? null,
    preemption: q?.preemption ?? null,
    groups: {
      concurrency: q?.groups.concurrency ?? null,
      rateLimit: q?.groups.rate_limit
        ? { max: q.groups.rate_limit.max, durationMs: q.groups.rate_limit.duration }
        : null,
      window: q?.groups.window ?? DEFAULT_GROUP_WINDOW,
    },
  };
}

/** Settings changed at run time override the configuration until changed again. */
export async function readQueueSettings(
  redis: Redis,
  keys: Keys,
  config: TaskplaneConfig,
  queue: string,
): Promise<QueueSettings> {
  const stored = await redis.hgetall(keys.queueSettings(queue));
  const base = configuredSettings(config, queue);
  return {
    concurrency: stored.concurrency ? Number(stored.concurrency) : base.concurrency,
    rateLimit:
      stored.rateLimit !== undefined
        ? (JSON.parse(stored.rateLimit) as QueueSettings['rateLimit'])
        : base.rateLimit,
    globalConcurrency:
      stored.globalConcurrency !== undefined
        ? (JSON.parse(stored.globalConcurrency) as number | null)
        : base.globalConcurrency,
    preemption:
      stored.preemption !== undefined
        ? (JSON.parse(stored.preemption) as QueueSettings['preemption'])
        : base.preemption,
    groups:
      stored.groups !== undefined
        ? { ...base.groups, ...(JSON.parse(stored.groups) as Partial<GroupSettings>) }
        : base.groups,
  };
}

export function validateSettings(config: TaskplaneConfig, change: QueueSettingsChange): void {
  if (change.concurrency !== undefined) {
    if (
      !Number.isInteger(change.concurrency) ||
      change.concurrency < 1 ||
      change.concurrency > config.workers.max_count
    ) {
      throw new ValidationError(`concurrency must be a whole number from 1 to ${config.workers.max_count}`, [
        { path: 'concurrency', message: `expected 1-${config.workers.max_count}` },
      ]);
    }
  }
  if (change.rateLimit) {
    const { max, durationMs } = change.rateLimit;
    if (!Number.isInteger(max) || max < 1 || !Number.isInteger(durationMs) || durationMs < 1) {
      throw new ValidationError('a rate limit needs max >= 1 and a duration >= 1 ms', [
        { path: 'rateLimit', message: 'expected max >= 1 and durationMs >= 1' },
      ]);
    }
  }
  if (
    change.globalConcurrency !== undefined &&
    change.globalConcurrency !== null &&
    change.globalConcurrency < 1
  ) {
    throw new ValidationError('globalConcurrency must be at least 1 or null', [
      { path: 'globalConcurrency', message: 'expected >= 1 or null' },
    ]);
  }
  if (change.groups) validateGroups(change.groups);
  if (change.preemption) {
    const { below } = change.preemption;
    if (!Number.isInteger(below) || below < PRIORITY_MIN || below > PRIORITY_MAX) {
      throw new ValidationError(
        `preemption.below must be a priority from ${PRIORITY_MIN} to ${PRIORITY_MAX}`,
        [{ path: 'preemption.below', message: `expected ${PRIORITY_MIN}-${PRIORITY_MAX}` }],
      );
    }
  }
}

/** The limits as a change of them would leave them: field errors name `groups.*`. */
function validateGroups(change: Partial<GroupSettings>): void {
  const { concurrency, rateLimit, window } = change;
  if (concurrency != null && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new ValidationError('groups.concurrency must be at least 1 or null', [
      { path: 'groups.concurrency', message: 'expected >= 1 or null' },
    ]);
  }
  if (rateLimit) {
    const { max, durationMs } = rateLimit;
    if (!Number.isInteger(max) || max < 1 || max > 1000 || !Number.isInteger(durationMs) || durationMs < 1) {
      throw new ValidationError('a group rate limit needs max 1-1000 and a duration >= 1 ms', [
        { path: 'groups.rateLimit', message: 'expected max 1-1000 and durationMs >= 1' },
      ]);
    }
  }
  if (window !== undefined && (!Number.isInteger(window) || window < 1 || window > 10_000)) {
    throw new ValidationError('groups.window must be from 1 to 10000', [
      { path: 'groups.window', message: 'expected 1-10000' },
    ]);
  }
}

export async function writeQueueSettings(
  redis: Redis,
  keys: Keys,
  queue: string,
  change: QueueSettingsChange,
): Promise<void> {
  const fields: Record<string, string> = {};
  if (change.concurrency !== undefined) fields.concurrency = String(change.concurrency);
  if (change.rateLimit !== undefined) fields.rateLimit = JSON.stringify(change.rateLimit);
  if (change.globalConcurrency !== undefined)
    fields.globalConcurrency = JSON.stringify(change.globalConcurrency);
  if (change.preemption !== undefined) fields.preemption = JSON.stringify(change.preemption);
  if (change.groups !== undefined) {
    // A partial change keeps the other limits as they were set at run time.
    const before = await redis.hget(keys.queueSettings(queue), 'groups');
    fields.groups = JSON.stringify({ ...(before ? JSON.parse(before) : {}), ...change.groups });
  }
  if (Object.keys(fields).length) await redis.hset(keys.queueSettings(queue), fields);
}
