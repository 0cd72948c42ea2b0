import { z } from 'zod';
import { Duration } from './duration';
import { Labels } from './task';

/**
 * What an alert rule watches. Counts and durations come from the metrics minute buckets over the
 * rule's window (see packages/queue/src/metrics); depths, consumers and memory are read live.
 */
export const AlertMetric = z.enum([
  /** (failed + retried) / (succeeded + failed + retried) over the window; no value under 5 ended attempts. */
  'failure_rate',
  /** Pending tasks of the queue now. */
  'queue_size',
  /** Mean run time of the attempts that ended in the window, in ms. */
  'avg_duration',
  /** Attempts found stalled (their worker stopped answering) in the window. */
  'stalled',
  /** Tasks dead-lettered in the window. */
  'dead_letters',
  /** Pending tasks of a queue that no live worker consumes (0 while one does). */
  'no_consumer',
  /** Redis `used_memory / maxmemory` (no value without a `maxmemory`). */
  'redis_memory',
  /** A worker whose heartbeat expired without a graceful leave: one alert per worker, resolved `window` after it fired. */
  'worker_gone',
]);
export type AlertMetric = z.infer<typeof AlertMetric>;

/** Metrics measured per queue (a rule without a queue gets one instance per configured queue). */
export const QUEUE_METRICS: ReadonlySet<AlertMetric> = new Set(
  AlertMetric.options.filter((m) => m !== 'redis_memory' && m !== 'worker_gone'),
);

export const AlertComparison = z.enum(['gt', 'gte', 'lt', 'lte']);
export type AlertComparison = z.infer<typeof AlertComparison>;

export const AlertSeverity = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

/** Severities in rising order, to compare with a webhook's `min_severity`. */
export const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

/** Where a rule comes from: configuration (`alerts.rules`) or the API. */
export const AlertRuleSource = z.enum(['config', 'api']);
export type AlertRuleSource = z.infer<typeof AlertRuleSource>;

/** What a rule looks at: a queue (null = each queue), a task type (null = all), labels to attach. */
export const AlertScope = z.strictObject({
  queue: z.string().min(1).nullable().default(null),
  type: z.string().min(1).nullable().default(null),
  /**
   * Labels copied onto the rule's alerts (for routing: `team=catalogue`). Metrics are kept per
   * queue and task type, not per label, so labels do not narrow what is measured.
   */
  labels: Labels.default({}),
});
export type AlertScope = z.infer<typeof AlertScope>;

/** A rule as stored and evaluated (durations in ms). */
export const AlertRule = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1).max(100),
  source: AlertRuleSource,
  metric: AlertMetric,
  scope: AlertScope,
  comparison: AlertComparison,
  threshold: z.number().finite(),
  /** Counts and rates are taken over the minute buckets that overlap the last `windowMs`. */
  windowMs: z.number().int().min(0),
  /** The condition must hold this long before the alert fires, and be clear this long before it resolves. */
  forMs: z.number().int().min(0),
  /** After a resolve, the same rule and queue does not fire again for this long. */
  cooldownMs: z.number().int().min(0),
  severity: AlertSeverity,
  /** No alert fires before this time (epoch ms); one already firing still resolves. */
  mutedUntil: z.number().nullable(),
  enabled: z.boolean(),
});
export type AlertRule = z.infer<typeof AlertRule>;

/**
 * A rule in configuration (`alerts.rules.<name>`); window, for and cooldown default to
 * `alerts.defaults`. Rules of the metrics `failure_rate`, `queue_size` and `avg_duration` take
 * their threshold from `monitoring.alerts` when they set none.
 */
export const AlertRuleConfig = z.strictObject({
  metric: AlertMetric,
  queue: z.string().min(1).nullable().default(null),
  type: z.string().min(1).nullable().default(null),
  labels: Labels.default({}),
  comparison: AlertComparison.default('gt'),
  /** Required, except for the metrics `monitoring.alerts` has a threshold of. Ignored by worker_gone. */
  threshold: z.number().finite().optional(),
  window: Duration.optional(),
  for: Duration.optional(),
  cooldown: Duration.optional(),
  severity: AlertSeverity.default('warning'),
  /** false turns a default rule off. */
  enabled: z.boolean().default(true),
});
export type AlertRuleConfig = z.infer<typeof AlertRuleConfig>;

/** A webhook alerts are posted to. */
export const WebhookConfig = z.strictObject({
  url: z.string().url(),
  /** Key of the HMAC-SHA256 signature (`x-taskplane-signature`); at least 16 characters. */
  secret: z.string().min(16),
  /** Alerts below this severity are not sent. Default info (all). */
  min_severity: AlertSeverity.default('info'),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

/** Wire-level kinds of alert log entries. */
export const AlertEventKind = { Fired: 'fired', Resolved: 'resolved' } as const;
export type AlertEventKind = (typeof AlertEventKind)[keyof typeof AlertEventKind];

/** An alert: one firing of one rule instance, from fired to resolved. */
export interface Alert {
  /** Unique per firing; the resolve carries the same id. */
  id: string;
  ruleId: string;
  ruleName: string;
  metric: AlertMetric;
  severity: AlertSeverity;
  /** The queue it is about (null for Redis memory). */
  queue: string | null;
  type: string | null;
  /** The worker process it is about (worker_gone), else null. */
  workerId: string | null;
  labels: Record<string, string>;
  comparison: AlertComparison;
  threshold: number;
  /** The value when it fired, or when it resolved. */
  value: number | null;
  summary: string;
  firedAt: number;
  resolvedAt: number | null;
}

/** An entry of the alerts log: its cursor (the stream id), what happened and the alert as it was then. */
export interface AlertEvent {
  cursor: string;
  kind: AlertEventKind;
  at: number;
  alert: Alert;
}

/** The longest window a rule may take: it bounds the minute buckets one evaluation reads per queue. */
export const MAX_ALERT_WINDOW_MS = 6 * 3_600_000;

/** A rule as the API creates it (durations in ms); absent fields take `alerts.defaults`. */
export const AlertRuleInput = z.strictObject({
  name: z.string().trim().min(1).max(100),
  metric: AlertMetric,
  scope: AlertScope.prefault({}),
  comparison: AlertComparison.default('gt'),
  threshold: z.number().finite(),
  windowMs: z.number().int().min(0).max(MAX_ALERT_WINDOW_MS).optional(),
  forMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .optional(),
  cooldownMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .optional(),
  severity: AlertSeverity.default('warning'),
  enabled: z.boolean().default(true),
});
export type AlertRuleInput = z.input<typeof AlertRuleInput>;
