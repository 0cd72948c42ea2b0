import { z } from 'zod';
import { Duration } from './duration';
import { CronExpression, MissedPolicy, OverlapPolicy, type ScheduleInput, TimeZone } from './schedule';
import { Labels, Priority } from './task';

/**
 * A schedule declared in configuration (`schedules.<name>`), applied at start-up by every API
 * process: created when no schedule has the name, updated when its definition changed, never
 * duplicated. Schedules made through the API are left alone.
 *
 * ```yaml
 * schedules:
 *   nightly-full-sync:
 *     task: { type: full_sync }
 *     cron: "0 3 * * *"          # 5 fields (minute first) or 6 (second first)
 *     timezone: Europe/Berlin    # default UTC
 *   crawl-s1:
 *     task: { type: shop_crawl, params: { shop_id: s1 } }
 *     every: 15m                 # or a fixed interval
 *     overlap: skip              # skip (default) | allow | cancel_previous
 *     missed: run_once           # skip (default) | run_once
 *     jitter: 30s                # delay each tick's task by up to this much
 * ```
 */
export const ScheduleConfig = z.strictObject({
  task: z.strictObject({
    type: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
    queue: z.string().min(1).optional(),
    priority: Priority.optional(),
    labels: Labels.optional(),
    max_attempts: z.number().int().min(1).max(100).optional(),
    timeout: Duration.optional(),
  }),
  /** A cron expression; give this or `every`. */
  cron: CronExpression.optional(),
  /** The zone `cron` is read in. Default UTC. */
  timezone: TimeZone.default('UTC'),
  /** A fixed interval (at least 1s); give this or `cron`. */
  every: Duration.optional(),
  /** No tick before this ISO 8601 time. */
  start_at: z.iso.datetime({ offset: true }).optional(),
  /** No tick after this ISO 8601 time. */
  end_at: z.iso.datetime({ offset: true }).optional(),
  /** When the previous task is unfinished: skip the tick (default), allow a second, or cancel it. */
  overlap: OverlapPolicy.default('skip'),
  /** Ticks missed during downtime: skip them all (default) or run one. */
  missed: MissedPolicy.default('skip'),
  /** Delay each tick's task by up to this much. Default none. */
  jitter: Duration.optional(),
  paused: z.boolean().default(false),
});
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

/** A configured schedule as the API's input (validated again, with the task type's params, on apply). */
export function scheduleConfigInput(name: string, config: ScheduleConfig): ScheduleInput {
  const { task } = config;
  return {
    name,
    task: {
      type: task.type,
      params: task.params,
      ...(task.queue ? { queue: task.queue } : {}),
      ...(task.priority !== undefined ? { priority: task.priority } : {}),
      ...(task.labels ? { labels: task.labels } : {}),
      ...(task.max_attempts !== undefined ? { maxAttempts: task.max_attempts } : {}),
      ...(task.timeout !== undefined ? { timeoutMs: task.timeout } : {}),
    },
    cron: config.cron ?? null,
    timezone: config.timezone,
    intervalMs: config.every ?? null,
    startAt: config.start_at ? Date.parse(config.start_at) : null,
    endAt: config.end_at ? Date.parse(config.end_at) : null,
    overlap: config.overlap,
    missed: config.missed,
    jitterMs: config.jitter ?? 0,
    paused: config.paused,
  };
}
