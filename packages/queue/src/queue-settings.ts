import {
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
}

export function configuredSettings(config: TaskplaneConfig, queue: string): QueueSettings {
  const q = config.queues[queue];
  return {
    concurrency: q?.concurrency ?? config.workers.default_count,
    rateLimit: q?.rate_limit ? { max: q.rate_limit.max, durationMs: q.rate_limit.duration } : null,
    globalConcurrency: q?.global_concurrency ?? null,
    preemption: q?.preemption ?? null,
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
  };
}

export function validateSettings(config: TaskplaneConfig, change: Partial<QueueSettings>): void {
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

export async function writeQueueSettings(
  redis: Redis,
  keys: Keys,
  queue: string,
  change: Partial<QueueSettings>,
): Promise<void> {
  const fields: Record<string, string> = {};
  if (change.concurrency !== undefined) fields.concurrency = String(change.concurrency);
  if (change.rateLimit !== undefined) fields.rateLimit = JSON.stringify(change.rateLimit);
  if (change.globalConcurrency !== undefined)
    fields.globalConcurrency = JSON.stringify(change.globalConcurrency);
  if (change.preemption !== undefined) fields.preemption = JSON.stringify(change.preemption);
  if (Object.keys(fields).length) await redis.hset(keys.queueSettings(queue), fields);
}
