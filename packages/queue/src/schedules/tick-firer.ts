import { createHash } from 'node:crypto';
import {
  ConflictError,
  isFinal,
  type Logger,
  NotFoundError,
  nextTick,
  type Schedule,
  SkipReason,
  type TaskInput,
  type TickOutcome,
  TickOutcomeKind,
} from '@taskplane/core';
import type { TaskEngine } from '../task-engine';
import type { ScheduleStore } from './schedule-store';

/** Most missed ticks counted one by one after a downtime (beyond this the count is a lower bound). */
const MISSED_COUNT_MAX = 10_000;

/** The idempotency key of a schedule's tick: however many processes fire it, one task. */
export function tickKey(scheduleId: string, tick: number): string {
  return `schedule:${scheduleId}:${tick}`;
}

/** A tick's jitter: the same for every process that fires it. */
function jitterOf(schedule: Schedule, tick: number): number {
  if (schedule.jitterMs <= 0) return 0;
  const hash = createHash('sha1').update(`${schedule.id}:${tick}`).digest();
  return hash.readUInt32BE(0) % (schedule.jitterMs + 1);
}

/**
 * Fires schedules' ticks. A tick submits one task through `TaskEngine.submitMany` with the tick's
 * idempotency key, then records the outcome and advances the next run in one script call that
 * only succeeds for the tick still pending. A process that dies between the two leaves the tick
 * pending; whoever fires it next finds the same task (the key) and records it: no tick is lost or
 * doubled.
 */
export class TickFirer {
  constructor(
    private readonly engine: TaskEngine,
    private readonly store: ScheduleStore,
    private readonly logger: Logger,
    /** A tick later than this counts as missed (`scheduler.misfire_grace`). */
    private readonly graceMs: number,
  ) {}

  /** Handle a schedule's pending tick if it is due at `now`. Returns the outcome, or null when nothing was due. */
  async fireDue(id: string, now: number): Promise<TickOutcome | null> {
    const schedule = await this.store.get(id);
    if (!schedule || schedule.paused || schedule.nextRunAt === null || schedule.nextRunAt > now) return null;
    const tick = schedule.nextRunAt;
    if (now - tick <= this.graceMs) {
      const outcome = await this.runTick(schedule, tick, now, 1, false);
      await this.store.recordTick(schedule, tick, nextTick(schedule, tick), outcome);
      return outcome;
    }
    // A backlog older than the grace: a downtime. Count it, then apply the missed-tick policy.
    let missed = 0;
    let latest = tick;
    for (
      let t: number | null = tick;
      t !== null && t <= now && missed < MISSED_COUNT_MAX;
      t = nextTick(schedule, t)
    ) {
      missed++;
      latest = t;
    }
    const next = nextTick(schedule, now);
    const outcome =
      schedule.missed === 'run_once'
        ? await this.runTick(schedule, latest, now, missed, false)
        : skipped(latest, now, `${SkipReason.Missed}: ${missed} tick(s) fell in a downtime`, missed);
    if (schedule.missed === 'run_once' && outcome.kind === TickOutcomeKind.Fired)
      outcome.reason = `run once for ${missed} missed tick(s)`;
    await this.store.recordTick(schedule, tick, next, outcome);
    return outcome;
  }

  /** Run a schedule now (`triggerSchedule`): one task outside the ticks; the next run stays. */
  async trigger(id: string, now = Date.now()): Promise<TickOutcome> {
    const schedule = await this.store.getOrThrow(id);
    const outcome = await this.submit(schedule, now, now, 1, true, `schedule:${id}:manual:${now}`);
    await this.store.recordTick(schedule, null, null, outcome);
    return outcome;
  }

  private async runTick(
    schedule: Schedule,
    tick: number,
    now: number,
    count: number,
    manual: boolean,
  ): Promise<TickOutcome> {
    const previous = schedule.lastTaskId ? await this.engine.store.get(schedule.lastTaskId) : null;
    if (previous && !isFinal(previous.status) && schedule.overlap !== 'allow') {
      if (schedule.overlap === 'skip') {
        return skipped(tick, now, `${SkipReason.Overlap}: task ${previous.id} is ${previous.status}`, count);
      }
      try {
        await this.engine.cancel(previous.id, `cancelled by schedule ${schedule.name}: a new tick started`);
      } catch (error) {
        // Finished or gone meanwhile: nothing to cancel.
        if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
      }
    }
    return await this.submit(schedule, tick, now, count, manual, tickKey(schedule.id, tick));
  }

  private async submit(
    schedule: Schedule,
    tick: number,
    now: number,
    count: number,
    manual: boolean,
    idempotencyKey: string,
  ): Promise<TickOutcome> {
    const { task } = schedule;
    const delay = jitterOf(schedule, tick);
    const input: TaskInput = {
      type: task.type,
      params: task.params,
      idempotencyKey,
      ...(task.queue ? { queue: task.queue } : {}),
      ...(task.priority !== undefined ? { priority: task.priority } : {}),
      ...(task.labels ? { labels: task.labels } : {}),
      ...(task.maxAttempts !== undefined ? { maxAttempts: task.maxAttempts } : {}),
      ...(task.timeoutMs !== undefined ? { timeoutMs: task.timeoutMs } : {}),
      ...(delay > 0 ? { delayMs: delay } : {}),
    };
    const [result] = await this.engine.submitMany([input], { scheduleId: schedule.id });
    if (!result?.ok) {
      const message = result?.error.message ?? 'not submitted';
      this.logger.warn({ scheduleId: schedule.id, tick, message }, 'schedule: its task was refused');
      return skipped(tick, now, `invalid task: ${message}`, count, manual);
    }
    return {
      kind: TickOutcomeKind.Fired,
      tick,
      at: now,
      taskId: result.task.id,
      reason: null,
      count,
      manual,
    };
  }
}

function skipped(tick: number, at: number, reason: string, count: number, manual = false): TickOutcome {
  return { kind: TickOutcomeKind.Skipped, tick, at, taskId: null, reason, count, manual };
}
