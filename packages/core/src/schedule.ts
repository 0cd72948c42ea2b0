import { Cron } from 'croner';
import { z } from 'zod';
import { Labels, Priority } from './task';

/**
 * What a tick does when the schedule's previous task has not finished. Wire-level values, stored
 * on the record and sent in events.
 */
export const OverlapPolicy = z.enum(['skip', 'allow', 'cancel_previous']);
export type OverlapPolicy = z.infer<typeof OverlapPolicy>;

/** What happens to ticks missed while no scheduler ran (see `scheduler.misfire_grace`). */
export const MissedPolicy = z.enum(['skip', 'run_once']);
export type MissedPolicy = z.infer<typeof MissedPolicy>;

/** Longest schedule name, in characters. */
export const MAX_SCHEDULE_NAME = 120;

/**
 * A cron expression of 5 fields (minute first) or 6 (second first), as croner reads it. Croner
 * also takes a 7th (year) field; we do not, so that expressions stay portable.
 */
export const CronExpression = z
  .string()
  .trim()
  .min(1, 'required')
  .max(200)
  .superRefine((value, ctx) => {
    const fields = value.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      ctx.addIssue({ code: 'custom', message: `expected 5 or 6 fields, got ${fields}` });
      return;
    }
    try {
      new Cron(value, { paused: true });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^CronPattern: /, '') });
    }
  });

/** Whether the runtime knows an IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone name (`Europe/Berlin`, `UTC`). */
export const TimeZone = z
  .string()
  .min(1)
  .max(100)
  .refine(isTimeZone, 'unknown time zone; use an IANA name such as Europe/Berlin or UTC');

/** The task a schedule submits on every tick; absent fields take the type's and queue's defaults. */
export const ScheduleTaskTemplate = z.strictObject({
  type: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  queue: z.string().min(1).optional(),
  priority: Priority.optional(),
  labels: Labels.optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  timeoutMs: z.number().int().min(1).optional(),
});
export type ScheduleTaskTemplate = z.infer<typeof ScheduleTaskTemplate>;

const ScheduleFields = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, 'required')
    .max(MAX_SCHEDULE_NAME)
    .regex(/^[A-Za-z0-9_.:\- ]+$/, 'letters, digits, spaces and _ . : - only'),
  task: ScheduleTaskTemplate,
  /** A cron expression; exactly one of `cron` and `intervalMs`. */
  cron: CronExpression.nullish(),
  /** The zone `cron` is read in. Default UTC. Ignored by intervals. */
  timezone: TimeZone.default('UTC'),
  /** A fixed interval in milliseconds, counted from `startAt` (or the creation time). */
  intervalMs: z
    .number()
    .int()
    .min(1000, 'at least 1000 ms')
    .max(366 * 86_400_000)
    .nullish(),
  /** No tick before this time (epoch ms). */
  startAt: z.number().int().min(0).nullish(),
  /** No tick after this time (epoch ms). */
  endAt: z.number().int().min(0).nullish(),
  overlap: OverlapPolicy.default('skip'),
  missed: MissedPolicy.default('skip'),
  /** Each tick's task is delayed by up to this many ms (spread load); 0 = none. */
  jitterMs: z.number().int().min(0).max(3_600_000).default(0),
  paused: z.boolean().default(false),
});

function checkTrigger(
  value: { cron?: string | null; intervalMs?: number | null; startAt?: number | null; endAt?: number | null },
  ctx: z.RefinementCtx,
): void {
  const hasCron = value.cron !== undefined && value.cron !== null;
  const hasInterval = value.intervalMs !== undefined && value.intervalMs !== null;
  if (hasCron === hasInterval) {
    const message = hasCron
      ? 'give a cron expression or an interval, not both'
      : 'give a cron expression or an interval';
    ctx.addIssue({ code: 'custom', path: [hasCron ? 'intervalMs' : 'cron'], message });
  }
  if (value.startAt != null && value.endAt != null && value.endAt <= value.startAt) {
    ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be after startAt' });
  }
}

/** What a caller gives to create a schedule (or to replace one's definition). */
export const ScheduleInput = ScheduleFields.superRefine(checkTrigger);
export type ScheduleInput = z.input<typeof ScheduleInput>;
export type ScheduleDefinition = z.output<typeof ScheduleInput>;

/** A partial change to a schedule's definition; the result is validated as a whole. */
export const ScheduleChange = ScheduleFields.partial();
export type ScheduleChange = z.input<typeof ScheduleChange>;

/** What one tick did. Wire-level: stored in tick history and sent in events. */
export const TickOutcomeKind = {
  /** A task was submitted (or found, when another process had submitted it). */
  Fired: 'fired',
  /** No task: the previous one was unfinished (overlap `skip`) or the tick was missed. */
  Skipped: 'skipped',
} as const;
export type TickOutcomeKind = (typeof TickOutcomeKind)[keyof typeof TickOutcomeKind];

/** Why a tick was skipped. */
export const SkipReason = {
  /** The previous task was still unfinished (overlap `skip`). */
  Overlap: 'overlap',
  /** Ticks that fell in a downtime longer than the misfire grace (missed `skip`). */
  Missed: 'missed',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export const TickOutcome = z.object({
  kind: z.enum([TickOutcomeKind.Fired, TickOutcomeKind.Skipped]),
  /** The tick's nominal time (epoch ms); `manual` ticks use the time of the trigger. */
  tick: z.number(),
  /** When the scheduler handled it. */
  at: z.number(),
  taskId: z.string().nullable(),
  reason: z.string().nullable(),
  /** How many ticks this outcome stands for (a missed-tick backlog is one outcome). */
  count: z.number().int().min(1),
  manual: z.boolean(),
});
export type TickOutcome = z.infer<typeof TickOutcome>;

/** A stored schedule. */
export const Schedule = z.object({
  id: z.string(),
  ...ScheduleFields.shape,
  cron: z.string().nullable(),
  intervalMs: z.number().nullable(),
  startAt: z.number().nullable(),
  endAt: z.number().nullable(),
  task: ScheduleTaskTemplate,
  createdAt: z.number(),
  updatedAt: z.number(),
  /** The next tick (epoch ms); null when paused or past its end. */
  nextRunAt: z.number().nullable(),
  /** The task of the latest fired tick. */
  lastTaskId: z.string().nullable(),
  lastOutcome: TickOutcome.nullable(),
});
export type Schedule = z.infer<typeof Schedule>;

/** A schedule's trigger, as `nextTick` needs it. */
export type ScheduleTrigger = Pick<
  Schedule,
  'cron' | 'timezone' | 'intervalMs' | 'startAt' | 'endAt' | 'createdAt'
>;

/**
 * The first tick strictly after `after` (epoch ms), or null when there is none (past `endAt`).
 * Cron ticks are computed by croner in the schedule's zone: a local time that does not exist (the
 * hour skipped when clocks go forward) fires once at the first instant after the gap, and one
 * that occurs twice (clocks go back) fires once, at its first occurrence.
 */
export function nextTick(trigger: ScheduleTrigger, after: number): number | null {
  const from = trigger.startAt != null ? Math.max(after, trigger.startAt - 1) : after;
  let next: number | null;
  if (trigger.cron) {
    const date = new Cron(trigger.cron, { timezone: trigger.timezone, paused: true }).nextRun(new Date(from));
    next = date ? date.getTime() : null;
  } else if (trigger.intervalMs) {
    const anchor = trigger.startAt ?? trigger.createdAt;
    const interval = trigger.intervalMs;
    next = from < anchor ? anchor : anchor + (Math.floor((from - anchor) / interval) + 1) * interval;
  } else next = null;
  if (next === null || (trigger.endAt != null && next > trigger.endAt)) return null;
  return next;
}

/** The next `count` ticks after `after`. */
export function nextTicks(trigger: ScheduleTrigger, after: number, count: number): number[] {
  const ticks: number[] = [];
  let from = after;
  while (ticks.length < count) {
    const next = nextTick(trigger, from);
    if (next === null) break;
    ticks.push(next);
    from = next;
  }
  return ticks;
}

/** A filter over schedules. */
export const ScheduleFilter = z.strictObject({
  /** Case-insensitive text in the name. */
  name: z.string().max(200).optional(),
  type: z.string().max(200).optional(),
  paused: z.boolean().optional(),
});
export type ScheduleFilter = z.infer<typeof ScheduleFilter>;
