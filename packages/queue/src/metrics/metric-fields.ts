import { TaskEventKind } from '@taskplane/core';

/**
 * What is counted per queue, task type and minute. Wire-level: these strings are hash fields in
 * Redis (`<type>|<counter>`, see `Keys.metricsMinute`) written by scripts/metrics.lua.
 */
export const MetricCounter = {
  Submitted: 'submitted',
  /** Every start of a handler: a retry, a re-run after a stall and a fan-out parent's resumption count again. */
  Started: 'started',
  Succeeded: 'succeeded',
  /** Tasks whose last attempt failed (each is dead-lettered in the same call). */
  Failed: 'failed',
  /** Failed attempts that will be tried again. */
  Retried: 'retried',
  Cancelled: 'cancelled',
  DeadLettered: 'dead_lettered',
  /** Attempts whose worker stopped answering; the task runs again (and counts as started again). */
  Stalled: 'stalled',
} as const;
export type MetricCounter = (typeof MetricCounter)[keyof typeof MetricCounter];
export const METRIC_COUNTERS: readonly MetricCounter[] = Object.values(MetricCounter);

/** The event that announces each counted transition: counted where the event is written (common.lua `emit`). */
export const COUNTED_EVENTS: Readonly<Partial<Record<TaskEventKind, MetricCounter>>> = {
  [TaskEventKind.Submitted]: MetricCounter.Submitted,
  [TaskEventKind.Started]: MetricCounter.Started,
  [TaskEventKind.Succeeded]: MetricCounter.Succeeded,
  [TaskEventKind.Failed]: MetricCounter.Failed,
  [TaskEventKind.Retrying]: MetricCounter.Retried,
  [TaskEventKind.Cancelled]: MetricCounter.Cancelled,
  [TaskEventKind.DeadLettered]: MetricCounter.DeadLettered,
  [TaskEventKind.Stalled]: MetricCounter.Stalled,
};

/** Durations kept as DDSketch buckets (`<type>|<sketch>|<bucket index>`). */
export const MetricSketch = {
  /** An attempt's run time, from BullMQ's start to its end (stalled attempts left out). */
  Run: 'run',
  /** From the moment a task could run (submitted, ready, its delay or backoff over) to its start. */
  Wait: 'wait',
} as const;
export type MetricSketch = (typeof MetricSketch)[keyof typeof MetricSketch];

/**
 * Relative accuracy of the duration sketches: a percentile read back is within 1 % of a value that
 * was recorded. Bucket i holds values in (gamma^(i-1), gamma^i] ms, gamma = (1 + a) / (1 - a), as
 * DDSketch's logarithmic mapping does, so its library reads them back.
 */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
export const SKETCH_GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);

/** Queue gauges, sampled once a minute into the minute's hash as `@<gauge>` (never summed over time). */
export const MetricGauge = {
  Pending: 'pending',
  Delayed: 'delayed',
  Running: 'running',
  Blocked: 'blocked',
  DeadLettered: 'deadLettered',
  /** Age of the oldest pending task (since it was submitted), ms; absent when none is pending. */
  OldestWaitingMs: 'oldestWaitingMs',
  /** Worker processes alive that consume the queue. */
  Workers: 'workers',
  /** Worker processes alive, whatever they consume (the same in every queue's hash). */
  Fleet: 'fleet',
  /** The concurrency those workers offer on the queue (capped by its global concurrency). */
  Slots: 'slots',
} as const;
export type MetricGauge = (typeof MetricGauge)[keyof typeof MetricGauge];
export const GAUGE_PREFIX = '@';

/** Minutes and hours as bucket numbers, the way the scripts name them (epoch ms / size). */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
