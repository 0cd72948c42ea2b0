import type { Logger } from '@taskplane/core';
import { LeaderLease } from '../leader-lease';
import { LeaderLoop } from '../leader-loop';
import type { TaskEngine } from '../task-engine';
import type { ScheduleStore } from './schedule-store';
import { TickFirer } from './tick-firer';

export interface SchedulerOptions {
  engine: TaskEngine;
  store: ScheduleStore;
  logger: Logger;
  /** The clock; tests pass their own. */
  now?: () => number;
  /** Longest idle wait between looks at the due index, in ms. Default 500. */
  idleMs?: number;
}

/** Due schedules handled per read of the due index. */
const DUE_BATCH = 100;

/**
 * Fires due schedules. Every API and worker process runs one; only the holder of the scheduler
 * lease (`scheduler.lease_duration`) fires, the others wait to take over. Correctness does not
 * rest on the lease: a tick's task has the tick as idempotency key and the tick is recorded by
 * compare-and-set, so a former leader that has not noticed it lost the lease doubles nothing.
 *
 * The loop reads only what is due from the index scored by next run time (no scan), and sleeps
 * until the earliest next run or `idleMs`, whichever comes first.
 */
export class Scheduler {
  readonly firer: TickFirer;
  private readonly loop: LeaderLoop;
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: SchedulerOptions) {
    const { engine, store } = options;
    this.logger = options.logger.child({ component: 'scheduler' });
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? 500;
    this.firer = new TickFirer(engine, store, this.logger, engine.config.scheduler.misfire_grace);
    const leaseMs = engine.config.scheduler.lease_duration;
    this.loop = new LeaderLoop({
      lease: new LeaderLease(engine.redis, engine.keys.schedulerLease, leaseMs, this.logger, 'scheduler'),
      pass: () => this.pass(),
      followerWaitMs: Math.max(100, Math.floor(leaseMs / 4)),
      logger: this.logger,
      what: 'scheduler',
    });
  }

  /** Whether this process fires schedules now. */
  get isLeader(): boolean {
    return this.loop.isLeader;
  }

  start(): void {
    this.loop.start();
  }

  /** Handle every tick due at `now`; returns how many schedules were looked at. */
  async runDue(now = this.now()): Promise<number> {
    const { store } = this.options;
    let handled = 0;
    for (;;) {
      const ids = await store.redis.zrange(
        store.keys.schedulesDue,
        '-inf',
        now,
        'BYSCORE',
        'LIMIT',
        0,
        DUE_BATCH,
      );
      for (const id of ids) {
        try {
          // A tick late by less than the grace is followed by its successors: catch up to `now`.
          while ((await this.firer.fireDue(id, now)) !== null) {}
        } catch (error) {
          this.logger.error({ err: error, scheduleId: id }, 'firing a schedule failed; will retry');
        }
        handled++;
      }
      if (ids.length < DUE_BATCH) return handled;
    }
  }

  /** One pass of the leader: fire what is due, then wait until the next run or `idleMs`. */
  private async pass(): Promise<number> {
    const { store } = this.options;
    await this.runDue();
    const [, score] = await store.redis.zrange(store.keys.schedulesDue, 0, 0, 'WITHSCORES');
    return score === undefined ? this.idleMs : Math.min(this.idleMs, Math.max(0, Number(score) - this.now()));
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
