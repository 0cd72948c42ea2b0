import type { Logger, TaskEvent, TaskplaneConfig } from '@taskplane/core';
import type { EventHub } from '@taskplane/events';
import type { QueueCounts, QueueSettings, TaskEngine } from '@taskplane/queue';
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
}

interface Window {
  succeeded: number;
  failedAttempts: number;
  finishedAttempts: number;
  durationTotal: number;
  durations: number;
}

const WINDOWS = 12;

/**
 * Queue statistics for this API process: counts read from BullMQ once per interval (not once per
 * subscriber) and rates from the events this process sees anyway. Every `queueStats`
 * subscription gets the same snapshot.
 */
export class LiveStats {
  private readonly broadcast = new Broadcast<QueueStats[]>();
  private readonly windows = new Map<string, Window[]>();
  private readonly started = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private latest: QueueStats[] = [];
  private feed: AsyncIterableIterator<TaskEvent> | null = null;

  constructor(
    private readonly engine: TaskEngine,
    private readonly hub: EventHub,
    private readonly config: TaskplaneConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const feed = await this.hub.subscribe({
      // Every kind that starts or ends an attempt, so no started attempt is remembered forever.
      filter: {
        kinds: ['started', 'succeeded', 'retrying', 'failed', 'cancelled', 'stalled', 'requeued', 'blocked'],
      },
    });
    this.feed = feed;
    void (async () => {
      for await (const event of feed) this.count(event);
    })();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.config.monitoring.stats_interval);
    this.timer.unref();
  }

  private current(queue: string): Window {
    let windows = this.windows.get(queue);
    if (!windows) {
      windows = [{ succeeded: 0, failedAttempts: 0, finishedAttempts: 0, durationTotal: 0, durations: 0 }];
      this.windows.set(queue, windows);
    }
    return windows[windows.length - 1]!;
  }

  private count(event: TaskEvent): void {
    const window = this.current(event.queue);
    if (event.kind === 'started') {
      this.started.set(event.taskId, event.at);
      return;
    }
    const startedAt = this.started.get(event.taskId);
    this.started.delete(event.taskId);
    // Handed back, stalled or fanned out: the attempt ended without a result to count.
    if (event.kind === 'stalled' || event.kind === 'requeued' || event.kind === 'blocked') return;
    if (startedAt !== undefined) {
      window.durationTotal += event.at - startedAt;
      window.durations++;
    }
    window.finishedAttempts++;
    if (event.kind === 'succeeded') window.succeeded++;
    else if (event.kind !== 'cancelled') window.failedAttempts++;
  }

  private async tick(): Promise<void> {
    try {
      const names = this.engine.queueNames();
      const snapshots = await Promise.all(names.map((name) => this.snapshot(name)));
      for (const name of names) {
        const windows = this.windows.get(name) ?? [];
        windows.push({
          succeeded: 0,
          failedAttempts: 0,
          finishedAttempts: 0,
          durationTotal: 0,
          durations: 0,
        });
        while (windows.length > WINDOWS) windows.shift();
        this.windows.set(name, windows);
      }
      this.latest = snapshots;
      this.broadcast.publish(snapshots);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read queue statistics');
    }
  }

  private async snapshot(name: string): Promise<QueueStats> {
    const [counts, paused, settings] = await Promise.all([
      this.engine.counts(name),
      this.engine.queue(name).isPaused(),
      this.engine.queueSettings(name),
    ]);
    const windows = this.windows.get(name) ?? [];
    const sum = windows.reduce(
      (a, w) => ({
        succeeded: a.succeeded + w.succeeded,
        failedAttempts: a.failedAttempts + w.failedAttempts,
        finishedAttempts: a.finishedAttempts + w.finishedAttempts,
        durationTotal: a.durationTotal + w.durationTotal,
        durations: a.durations + w.durations,
      }),
      { succeeded: 0, failedAttempts: 0, finishedAttempts: 0, durationTotal: 0, durations: 0 },
    );
    const spanMinutes = Math.max(1, windows.length) * (this.config.monitoring.stats_interval / 60_000);
    const failureRate = sum.finishedAttempts ? sum.failedAttempts / sum.finishedAttempts : 0;
    const avgDurationMs = sum.durations ? sum.durationTotal / sum.durations : null;
    const thresholds = this.config.monitoring.alerts;
    const alerts: string[] = [];
    if (sum.finishedAttempts >= 5 && failureRate > thresholds.failure_rate) alerts.push('failure_rate');
    if (counts.pending > thresholds.queue_size) alerts.push('queue_size');
    if (avgDurationMs !== null && avgDurationMs > thresholds.avg_duration) alerts.push('avg_duration');
    return {
      name,
      at: Date.now(),
      counts,
      paused,
      throughputPerMinute: sum.succeeded / spanMinutes,
      failureRate,
      avgDurationMs,
      alerts,
      settings,
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
    this.feed?.return?.();
    this.broadcast.closeAll();
  }
}
