import { QueueStatsDocument, QueuesDocument, type ResultOf } from '@taskplane/client';
import { type Api, reloadOnReconnect } from '$lib/graphql/client.svelte';

export type Queue = ResultOf<typeof QueuesDocument>['queues'][number];
export type QueueStats = ResultOf<typeof QueueStatsDocument>['queueStats'][number];

/** Sparkline points kept per queue (at the default 5 s interval, the last two and a half minutes). */
const HISTORY = 30;

export interface QueueTrend {
  throughput: number[];
  failureRate: number[];
}

/**
 * Every queue with its settings and counts (from `queues`, then as `queueStats` pushes them, so a
 * change another operator makes shows without a reload), its rates, and the recent history of
 * those rates for sparklines. Construct while a component initialises; it stops with the component.
 */
export class LiveQueues {
  list = $state.raw<Queue[]>([]);
  stats = $state.raw<Record<string, QueueStats>>({});
  trends = $state.raw<Record<string, QueueTrend>>({});
  error = $state<string | null>(null);

  constructor(api: Api) {
    reloadOnReconnect(api.connection, () => {
      void api.client
        .query(QueuesDocument, {})
        .toPromise()
        .then((result) => {
          if (result.data) this.list = result.data.queues;
          else this.error = result.error?.message ?? null;
        });
    });
    $effect(() =>
      api.live(QueueStatsDocument, () => ({}), {
        next: ({ queueStats }) => this.#push(queueStats),
        error: (failure) => {
          this.error = failure.message;
        },
      }),
    );
  }

  /** Replaces one queue's settings with a mutation's answer: until the next push, it is the freshest. */
  replace(queue: Queue): void {
    this.list = this.list.map((q) => (q.name === queue.name ? queue : q));
  }

  #push(pushed: readonly QueueStats[]): void {
    const stats = { ...this.stats };
    const trends = { ...this.trends };
    for (const entry of pushed) {
      stats[entry.name] = entry;
      const trend = trends[entry.name] ?? { throughput: [], failureRate: [] };
      trends[entry.name] = {
        throughput: [...trend.throughput, entry.throughputPerMinute].slice(-HISTORY),
        failureRate: [...trend.failureRate, entry.failureRate].slice(-HISTORY),
      };
    }
    this.stats = stats;
    this.trends = trends;
    const fresh = new Map(pushed.map((entry) => [entry.name, entry]));
    this.list = this.list.map((queue) => {
      const push = fresh.get(queue.name);
      if (!push) return queue;
      const { paused, concurrency, globalConcurrency, rateLimit, counts } = push;
      return { ...queue, paused, concurrency, globalConcurrency, rateLimit, counts };
    });
  }
}
