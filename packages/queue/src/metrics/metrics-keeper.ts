import type { Logger } from '@taskplane/core';
import { LeaderLease } from '../leader-lease';
import { LeaderLoop } from '../leader-loop';
import type { TaskEngine } from '../task-engine';
import { MINUTE_MS } from './metric-fields';
import { gaugeFields } from './metrics-store';
import { sampleGauges } from './queue-gauges';

export interface MetricsKeeperOptions {
  /** How often the leader looks for closed minutes to fold, in ms. Default 5000. */
  passMs?: number;
  /** How long the leader's lease lasts without renewal. Default 15000. */
  leaseMs?: number;
}

/**
 * How long after a minute ends it may still receive transitions written with a time a caller took
 * (cancel, delete: `Date.now()` just before the script call); the projection is waited for apart.
 */
export const FOLD_GRACE_MS = 5_000;
/** Minutes folded per script call: bounds the time one call holds Redis. */
const MINUTES_PER_FOLD = 60;
/**
 * Where a queue's first fold starts (no checkpoint yet): this far back, as processes that record
 * transitions run a keeper too, so nothing older can be waiting to be folded. Looking back over
 * the whole minute retention would read 2,880 empty minutes per queue.
 */
const FIRST_FOLD_LOOKBACK_MS = 3_600_000;

/**
 * Keeps metrics over time that no transition writes: once a minute it samples each queue's gauges
 * (depth per status, oldest waiting age, workers, slots) into the minute's hash, and it folds closed
 * minutes into hour buckets and cumulative totals (scripts/metrics-fold.lua, exactly once by a
 * checkpoint per queue). Every worker and API process runs one; the holder of a lease works.
 * Correctness does not rest on the lease: the fold's checkpoint advances in the call that folds,
 * and gauges are overwritten, not added.
 */
export class MetricsKeeper {
  private readonly loop: LeaderLoop;
  private sampledMinute = -1;
  /** The last minute each queue was folded through, as the fold said: no call until the next closes. */
  private readonly foldedThrough = new Map<string, number>();

  constructor(
    private readonly engine: TaskEngine,
    logger: Logger,
    options: MetricsKeeperOptions = {},
  ) {
    const passMs = options.passMs ?? 5000;
    const lease = new LeaderLease(
      engine.redis,
      engine.keys.metricsLease,
      options.leaseMs ?? 15_000,
      logger,
      'metrics keeper',
    );
    this.loop = new LeaderLoop({
      lease,
      pass: async () => {
        await this.pass();
        // Wake at the next minute's start when that comes first, so gauges land early in their minute.
        return Math.min(passMs, MINUTE_MS - (Date.now() % MINUTE_MS) + 50);
      },
      followerWaitMs: passMs,
      logger,
      what: 'metrics keeper',
    });
  }

  get isLeader(): boolean {
    return this.loop.isLeader;
  }

  start(): void {
    this.loop.start();
  }

  /** Write every queue's gauges into the minute of `now`. */
  async sample(now = Date.now()): Promise<void> {
    const { redis, keys } = this.engine;
    const minute = Math.floor(now / MINUTE_MS);
    const gauges = await sampleGauges(this.engine, now);
    const multi = redis.multi();
    for (const [queue, values] of gauges)
      multi.hset(keys.metricsMinute(queue, minute), ...gaugeFields(values));
    await multi.exec();
    this.sampledMinute = minute;
  }

  /**
   * Fold every queue's closed minutes into hours and totals. `now` (ms) is for tests that fold
   * minutes before their time; by default the script takes Redis's clock.
   */
  async fold(now?: number): Promise<void> {
    const { redis, keys, config } = this.engine;
    const retention = config.metrics;
    const clock = Date.now();
    const closed = Math.floor(((now ?? clock) - FOLD_GRACE_MS) / MINUTE_MS) - 1;
    for (const queue of this.engine.queueNames()) {
      if ((this.foldedThrough.get(queue) ?? Number.NEGATIVE_INFINITY) >= closed) continue;
      for (;;) {
        const [through, more] = await redis.tpMetricsFold(
          keys.metricsFolded(queue),
          keys.bullEvents(queue),
          keys.projectorCheckpoint(queue),
          keys.metricsTotals(queue),
          keys.metricsPrefix(queue),
          retention.minute_retention,
          retention.hour_retention,
          FOLD_GRACE_MS,
          MINUTES_PER_FOLD,
          Math.floor((clock - FIRST_FOLD_LOOKBACK_MS) / MINUTE_MS),
          now ?? '',
        );
        this.foldedThrough.set(queue, through);
        if (more !== 1) break;
      }
    }
  }

  /** One pass of the leader: the gauges once per minute, then whatever minutes closed. */
  async pass(now = Date.now()): Promise<void> {
    if (Math.floor(now / MINUTE_MS) !== this.sampledMinute) await this.sample(now);
    await this.fold();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
