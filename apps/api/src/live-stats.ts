import type { Logger, TaskplaneConfig } from '@taskplane/core';
import type {
  MetricsPoint,
  MetricsStore,
  QueueCounts,
  QueueSettings,
  RecentMinutes,
  TaskEngine,
} from '@taskplane/queue';
import { Broadcast, type Feed } from './feed';

/** A queue's state at one moment, and what happened over the last stats window. */
export interface QueueStats {
  name: string;
  at: number;
  counts: QueueCounts;
  paused: boolean;
  /** Tasks succeeded per minute over the window. */
  throughputPerMinute: number;
  /** Share of finished attempts that failed over the window (0-1). */
  failureRate: number;
  /** Mean run time of attempts that ended in the window, ms; null without any. */
  avgDurationMs: number | null;
  /** Thresholds from monitoring.alerts this queue is over now. */
  alerts: string[];
  /** The queue's run-time settings, so every console sees a change another operator made. */
  settings: QueueSettings;
  /** The minute in progress, as `metrics` returns it (counts so far). */
  latestMinute: MetricsPoint;
}

/**
 * Queue statistics for this API process: counts read from BullMQ and rates from the metrics
 * minutes in Redis (`MetricsStore`), once per interval, not once per subscriber. Every
 * `queueStats` subscription gets the same snapshot, and every API process computes the same one.
 */
export class LiveStats {
  private readonly broadcast = new Broadcast<QueueStats[]>();
  private timer: NodeJS.Timeout | null = null;
  private latest: QueueStats[] = [];

  constructor(
    private readonly engine: TaskEngine,
    private readonly metrics: MetricsStore,
    private readonly config: TaskplaneConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.config.monitoring.stats_interval);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const names = this.engine.queueNames();
      const now = Date.now();
      const minutes = await this.metrics.recentMinutes(names, now);
      const snapshots = await Promise.all(names.map((name) => this.snapshot(name, now, minutes.get(name)!)));
      this.latest = snapshots;
      this.broadcast.publish(snapshots);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read queue statistics');
    }
  }

  /**
   * Rates over the last minute: the minute in progress plus the previous minute weighted by the
   * share of it still inside the last 60 s (a sliding window over two fixed buckets).
   */
  private async snapshot(name: string, now: number, recent: RecentMinutes): Promise<QueueStats> {
    const [counts, paused, settings] = await Promise.all([
      this.engine.counts(name),
      this.engine.queue(name).isPaused(),
      this.engine.queueSettings(name),
    ]);
    const { current, previous } = recent;
    const weight = 1 - (now % 60_000) / 60_000;
    const windowed = (pick: (p: MetricsPoint) => number) => pick(current) + pick(previous) * weight;
    const failedAttempts = windowed((p) => p.counts.failed + p.counts.retried);
    const finishedAttempts = windowed((p) => p.counts.succeeded) + failedAttempts;
    const runs = [current.run, previous.run].filter((r) => r !== null);
    const ranCount = runs.reduce((n, r) => n + r.count, 0);
    const failureRate = finishedAttempts ? failedAttempts / finishedAttempts : 0;
    const avgDurationMs = ranCount ? runs.reduce((sum, r) => sum + r.meanMs * r.count, 0) / ranCount : null;
    const thresholds = this.config.monitoring.alerts;
    const alerts: string[] = [];
    if (finishedAttempts >= 5 && failureRate > thresholds.failure_rate) alerts.push('failure_rate');
    if (counts.pending > thresholds.queue_size) alerts.push('queue_size');
    if (avgDurationMs !== null && avgDurationMs > thresholds.avg_duration) alerts.push('avg_duration');
    return {
      name,
      at: now,
      counts,
      paused,
      throughputPerMinute: windowed((p) => p.counts.succeeded),
      failureRate,
      avgDurationMs,
      alerts,
      settings,
      latestMinute: current,
    };
  }

  /** The latest snapshot, then one per interval. */
  subscribe(): Feed<QueueStats[]> {
    const feed = this.broadcast.subscribe();
    if (this.latest.length) feed.push(this.latest);
    return feed;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.broadcast.closeAll();
  }
}
