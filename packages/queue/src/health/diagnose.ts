import type { TaskplaneConfig } from '@taskplane/core';
import type { DurationSummary } from '../metrics/duration-sketch';
import { METRIC_COUNTERS, MINUTE_MS } from '../metrics/metric-fields';
import type { MetricCounts, MetricsPoint, MetricsScope, MetricsStore } from '../metrics/metrics-store';
import type { PlaneFacts, QueueFacts } from './plane-health';
import { queuesWithoutConsumer } from './plane-health';

/** Wire-level codes of findings (`taskplane tune --json` prints them; scripts may match on them). */
export const FindingCode = {
  NoWorkers: 'no_workers',
  NoConsumer: 'no_consumer',
  PausedWithWork: 'paused_with_work',
  ConcurrencyBelowRateLimit: 'concurrency_below_rate_limit',
  Saturated: 'saturated',
  WaitGrowingWhileIdle: 'wait_growing_while_idle',
  WaitGrowingSaturated: 'wait_growing_saturated',
  HighFailureRate: 'high_failure_rate',
  HighRetryRate: 'high_retry_rate',
  Stalls: 'stalls',
  DeadLetters: 'dead_letters',
  FinishedPileUp: 'finished_pile_up',
  RedisMemory: 'redis_memory',
  RedisEviction: 'redis_eviction',
  SchedulesOverdue: 'schedules_overdue',
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

/** Something an operator can act on: what was seen, and what to change. */
export interface Finding {
  code: FindingCode;
  severity: 'warning' | 'info';
  /** The queue it is about; null for the whole plane. */
  queue: string | null;
  /** The task type it is about, when it is about one. */
  type: string | null;
  evidence: string;
  suggestion: string;
}

/** Counts of a window of the recent past, and the rates that follow from them. */
export interface WindowFigures {
  counts: MetricCounts;
  /** (failed + retried) / (succeeded + failed + retried); null without any. */
  failureRate: number | null;
  /** Mean run time of the attempts that ended; null without any. */
  runMeanMs: number | null;
}

/** Metrics of the recent past the findings compare: per queue and per task type. */
export interface RecentMetrics {
  /** Per queue: the last hour. */
  queueHour: Map<string, WindowFigures>;
  /** Per queue: wait times of the 15 minutes before the latest 15, and of the latest 15. */
  queueWait: Map<string, [DurationSummary | null, DurationSummary | null]>;
  /** Per task type: the last hour. */
  typeHour: Map<string, WindowFigures>;
}

const BLOCK_MS = 15 * MINUTE_MS;

/** Points of 15 minutes over the last hour, summed into one window. */
function summed(points: MetricsPoint[]): WindowFigures {
  const counts = Object.fromEntries(METRIC_COUNTERS.map((c) => [c, 0])) as MetricCounts;
  let runTotal = 0;
  let runs = 0;
  for (const point of points) {
    for (const c of METRIC_COUNTERS) counts[c] += point.counts[c];
    if (point.run) {
      runTotal += point.run.meanMs * point.run.count;
      runs += point.run.count;
    }
  }
  const ended = counts.succeeded + counts.failed + counts.retried;
  return {
    counts,
    failureRate: ended > 0 ? (counts.failed + counts.retried) / ended : null,
    runMeanMs: runs > 0 ? runTotal / runs : null,
  };
}

/** Reads the metrics the findings need: the last hour per queue and per type, in 15-minute blocks. */
export async function readRecentMetrics(
  store: MetricsStore,
  queues: string[],
  types: string[],
  now = Date.now(),
): Promise<RecentMetrics> {
  const hour = (scope: MetricsScope) => store.series(scope, now - 4 * BLOCK_MS, now, BLOCK_MS, now);
  const recent: RecentMetrics = { queueHour: new Map(), queueWait: new Map(), typeHour: new Map() };
  await Promise.all([
    ...queues.map(async (queue) => {
      const { points } = await hour({ queue });
      recent.queueHour.set(queue, summed(points));
      recent.queueWait.set(queue, [points.at(-2)?.wait ?? null, points.at(-1)?.wait ?? null]);
    }),
    ...types.map(async (type) => {
      recent.typeHour.set(type, summed((await hour({ type })).points));
    }),
  ]);
  return recent;
}

/** Above this share of attempts that failed (last hour) a queue's failures are worth a look. */
export const FAILURE_RATE_THRESHOLD = 0.2;
/** Above this share of starts that were retries (last hour) a task type retries too much. */
export const RETRY_RATE_THRESHOLD = 0.25;
/** Above this share of maxmemory Redis is near its limit (noeviction: writes fail at the limit). */
export const REDIS_MEMORY_THRESHOLD = 0.8;
/** Fewer ended attempts than this in the window say nothing about a rate. */
const MIN_SAMPLE = 20;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

function finding(
  code: FindingCode,
  severity: Finding['severity'],
  at: { queue?: string; type?: string },
  evidence: string,
  suggestion: string,
): Finding {
  return { code, severity, queue: at.queue ?? null, type: at.type ?? null, evidence, suggestion };
}

function queueFindings(queue: QueueFacts, recent: RecentMetrics): Finding[] {
  const out: Finding[] = [];
  const at = { queue: queue.name };
  const { pending, running, deadLettered } = queue.counts;
  if (queue.paused && pending > 0) {
    out.push(
      finding(
        FindingCode.PausedWithWork,
        'warning',
        at,
        `paused with ${pending} pending`,
        `taskplane resume ${queue.name}`,
      ),
    );
  }
  const hour = recent.queueHour.get(queue.name);
  const runMean = hour?.runMeanMs ?? null;
  const { rateLimit } = queue.settings;
  if (rateLimit && runMean !== null && runMean > 0 && queue.consumers > 0) {
    // Little's law: tasks in flight = arrival rate × time in the system.
    const needed = Math.ceil((rateLimit.max / rateLimit.durationMs) * runMean);
    if (queue.slots < needed) {
      const perWorker = Math.ceil(needed / queue.consumers);
      const global = queue.settings.globalConcurrency;
      out.push(
        finding(
          FindingCode.ConcurrencyBelowRateLimit,
          'info',
          at,
          `rate limit ${rateLimit.max} per ${rateLimit.durationMs} ms at ${Math.round(runMean)} ms a task needs ${needed} slots; the workers give ${queue.slots}`,
          `taskplane concurrency ${queue.name} ${perWorker}${global && global < needed ? ` --global ${needed}` : ''}`,
        ),
      );
    }
  } else if (!rateLimit && queue.slots > 0 && pending > queue.slots && running >= queue.slots) {
    out.push(
      finding(
        FindingCode.Saturated,
        'info',
        at,
        `every slot busy (${running} of ${queue.slots}) with ${pending} pending`,
        `raise concurrency (taskplane concurrency ${queue.name} ${Math.ceil((queue.slots * 2) / Math.max(queue.consumers, 1))}) or start more workers`,
      ),
    );
  }
  const [before, now] = recent.queueWait.get(queue.name) ?? [null, null];
  if (before && now && now.count >= MIN_SAMPLE && now.p95Ms > 1000 && now.p95Ms > before.p95Ms * 2) {
    const evidence = `wait p95 ${secs(before.p95Ms)} -> ${secs(now.p95Ms)} over the last 30 minutes`;
    if (queue.slots > 0 && running < queue.slots && pending > 0) {
      out.push(
        finding(
          FindingCode.WaitGrowingWhileIdle,
          'warning',
          at,
          `${evidence} while ${queue.slots - running} of ${queue.slots} slots sit idle`,
          'something other than capacity holds tasks back: check the rate limit, global concurrency, fair-group limits and whether the queue was paused',
        ),
      );
    } else if (queue.slots > 0 && running >= queue.slots) {
      out.push(
        finding(
          FindingCode.WaitGrowingSaturated,
          'warning',
          at,
          `${evidence} with every slot busy (${running} of ${queue.slots})`,
          `add capacity: taskplane concurrency ${queue.name} ${queue.slots * 2}, or more worker processes`,
        ),
      );
    }
  }
  const ended = hour ? hour.counts.succeeded + hour.counts.failed + hour.counts.retried : 0;
  if (hour && ended >= MIN_SAMPLE && (hour.failureRate ?? 0) > FAILURE_RATE_THRESHOLD) {
    out.push(
      finding(
        FindingCode.HighFailureRate,
        'warning',
        at,
        `${pct(hour.failureRate ?? 0)} of ${ended} attempts in the last hour failed (${hour.counts.retried} retried, ${hour.counts.failed} failed for good)`,
        `look at the errors (taskplane tail --queue ${queue.name} --kind failed); raise retry.base_delay if a dependency throttles, or fix the handler`,
      ),
    );
  }
  if (deadLettered > 0) {
    out.push(
      finding(
        FindingCode.DeadLetters,
        'info',
        at,
        `${deadLettered} dead-lettered`,
        `taskplane dlq list --queue ${queue.name}, then dlq requeue or dlq purge`,
      ),
    );
  }
  return out;
}

function typeFindings(type: string, hour: WindowFigures, facts: PlaneFacts): Finding[] {
  const out: Finding[] = [];
  const { started, retried, stalled } = hour.counts;
  if (started >= MIN_SAMPLE && retried / started > RETRY_RATE_THRESHOLD) {
    out.push(
      finding(
        FindingCode.HighRetryRate,
        'warning',
        { type },
        `${pct(retried / started)} of ${started} starts in the last hour were retries`,
        `a dependency of ${type} fails or throttles: see its errors (taskplane tail --type ${type} --kind retrying); classify failures that retrying cannot fix as PermanentError, or raise the backoff`,
      ),
    );
  }
  // A stall is a task whose worker stopped renewing its lock. With every worker still online, the
  // usual cause is a handler that blocks the event loop longer than the lock lasts.
  if (stalled > 0 && facts.workers.length > 0) {
    out.push(
      finding(
        FindingCode.Stalls,
        'warning',
        { type },
        `${stalled} stall(s) in the last hour while workers stayed online`,
        `a ${type} handler likely blocks the event loop (long synchronous work): move CPU work to a worker thread or yield, or raise workers.lock_duration`,
      ),
    );
  }
  return out;
}

/**
 * Findings an operator can act on, each with its evidence and a suggested change: from the plane's
 * facts (queues, workers, Redis) and the metrics of the last hour. Pure: each rule reads in one place.
 */
export function diagnose(facts: PlaneFacts, recent: RecentMetrics, config: TaskplaneConfig): Finding[] {
  const findings: Finding[] = [];
  if (facts.workers.length === 0) {
    findings.push(
      finding(
        FindingCode.NoWorkers,
        'warning',
        {},
        'no worker process online',
        'start one: taskplane worker start',
      ),
    );
  }
  for (const queue of queuesWithoutConsumer(facts)) {
    if (facts.workers.length === 0) continue;
    findings.push(
      finding(
        FindingCode.NoConsumer,
        'warning',
        { queue: queue.name },
        `${queue.counts.pending} pending, no worker consumes the queue`,
        `taskplane worker start --queues ${queue.name}`,
      ),
    );
  }
  for (const queue of facts.queues) findings.push(...queueFindings(queue, recent));
  for (const [type, hour] of recent.typeHour) findings.push(...typeFindings(type, hour, facts));
  const keep = config.retention.finished_max_count;
  if (facts.finished > keep * 1.2) {
    findings.push(
      finding(
        FindingCode.FinishedPileUp,
        'warning',
        {},
        `${facts.finished} finished task records kept; retention keeps ${keep} per status${facts.workers.length ? '' : ' and trims only while a worker runs'}`,
        facts.workers.length
          ? 'taskplane clean to trim now; lower retention.finished_max_age or finished_max_count'
          : 'start a worker (retention runs in workers), or taskplane clean now',
      ),
    );
  }
  const { memory } = facts.redis;
  if (memory.maxBytes && memory.usedBytes / memory.maxBytes > REDIS_MEMORY_THRESHOLD) {
    findings.push(
      finding(
        FindingCode.RedisMemory,
        'warning',
        {},
        `Redis uses ${mb(memory.usedBytes)} of ${mb(memory.maxBytes)} (${pct(memory.usedBytes / memory.maxBytes)}); with noeviction, writes fail at the limit`,
        'raise maxmemory, or keep less: taskplane clean, shorter retention.* or events.stream_max_len',
      ),
    );
  }
  if (memory.policy !== 'noeviction' && memory.policy !== 'unknown') {
    findings.push(
      finding(
        FindingCode.RedisEviction,
        'warning',
        {},
        `maxmemory-policy is ${memory.policy}: Redis may evict task records, indexes or BullMQ jobs`,
        'CONFIG SET maxmemory-policy noeviction (and in redis.conf)',
      ),
    );
  }
  if (facts.schedules.overdue > 0) {
    findings.push(
      finding(
        FindingCode.SchedulesOverdue,
        'warning',
        {},
        `${facts.schedules.overdue} schedule(s) overdue${facts.schedules.schedulerLeading ? '' : '; no process holds the scheduler lease'}`,
        'every API and worker process runs a scheduler: make sure one runs and reaches Redis (taskplane health)',
      ),
    );
  }
  return findings;
}
