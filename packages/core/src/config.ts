import { z } from 'zod';
import { AlertRuleConfig, WebhookConfig } from './alert';
import { Duration } from './duration';
import { ScheduleConfig } from './schedule-config';
import { Priority, TaskOrder } from './task';

/** Grouped jobs waiting in BullMQ per queue when a queue sets no `groups.window`. */
export const DEFAULT_GROUP_WINDOW = 50;

/**
 * Fair groups of one queue. A task submitted with a `group` (e.g. a shop id) waits in its group's
 * lane; groups take turns (round-robin) to put their next task into BullMQ, so a group with
 * 100,000 tasks cannot starve one with ten. The limits apply to each group of the queue on its
 * own. Changeable at run time (`updateQueueSettings`).
 */
export const GroupsConfig = z.strictObject({
  /** At most this many tasks of one group in flight (started or about to, not finished); null (default) = no limit. */
  concurrency: z.number().int().min(1).nullable().default(null),
  /** At most `max` starts of one group in any `duration`; null (default) = unlimited. */
  rate_limit: z
    .strictObject({ max: z.number().int().min(1).max(1000), duration: Duration })
    .nullable()
    .default(null),
  /**
   * How many grouped tasks wait in BullMQ at most (taken from the lanes, not started yet): enough
   * that workers never idle between turns, few enough that a new group's tasks are not queued
   * behind a long run of one group's. Default 50.
   */
  window: z.number().int().min(1).max(10_000).default(DEFAULT_GROUP_WINDOW),
});
export type GroupsConfig = z.infer<typeof GroupsConfig>;

/** One queue's settings. */
export const QueueConfig = z.strictObject({
  /** Concurrent tasks per worker process on this queue. Changeable at run time. */
  concurrency: z.number().int().min(1),
  /** Order within a priority when the submitter does not say. */
  order: TaskOrder,
  /** Default priority of tasks on this queue when their type sets none. */
  priority: Priority,
  /** At most `max` task starts per `duration` across all workers; null = unlimited. */
  rate_limit: z.strictObject({ max: z.number().int().min(1), duration: Duration }).nullable(),
  /** At most this many tasks of this queue run at once across every worker process; null = no cap. */
  global_concurrency: z.number().int().min(1).nullable(),
  /**
   * Preemption; null (the default) = off. When every slot of the queue (the concurrency of every
   * worker process consuming it, capped by `global_concurrency`) runs a task whose priority is
   * below `below`, and a task of priority `below` or more is submitted, the lowest-priority running
   * task is aborted and handed back to the queue without using up an attempt; the new task takes
   * its slot. Changeable at run time (`updateQueueSettings`).
   */
  preemption: z.strictObject({ below: Priority }).nullable().default(null),
  /** Fair groups: limits for the tasks of this queue submitted with a `group` (see `GroupsConfig`). */
  groups: GroupsConfig.prefault({}),
});
export type QueueConfig = z.infer<typeof QueueConfig>;

/** A task type declared in configuration; its parameters are described by JSON Schema. */
export const TaskTypeConfig = z.strictObject({
  description: z.string().default(''),
  queue: z.string().min(1),
  /** JSON Schema of the parameters (type object). */
  params: z.record(z.string(), z.unknown()),
  /** Module (path or package) whose default export is the handler. */
  handler: z.string().optional(),
  priority: Priority.optional(),
  max_attempts: z.number().int().min(1).optional(),
  timeout: Duration.optional(),
});
export type TaskTypeConfig = z.infer<typeof TaskTypeConfig>;

export const AlertThresholds = z.strictObject({
  /** Alert when the share of failed attempts over the stats window passes this. */
  failure_rate: z.number().min(0).max(1),
  /** Alert when a queue holds more waiting tasks than this. */
  queue_size: z.number().int().min(1),
  /** Alert when the mean run time over the stats window passes this. */
  avg_duration: Duration,
});

/**
 * Alerting (README: Alerts): rules evaluated by one process at a time, alerts appended to a capped
 * stream, posted to webhooks and pushed to the `alerts` subscription.
 */
export const AlertsConfig = z.strictObject({
  /** How often the evaluating process checks every rule. Default 5s. */
  interval: Duration,
  /** How long the evaluator's lease lasts without renewal: a killed evaluator is replaced after this. Default 10s. */
  lease_duration: Duration,
  /** Defaults of rules that set none (configured and made through the API). */
  defaults: z.strictObject({
    /** Counts and rates over the minute buckets overlapping this window. Default 5m. */
    window: Duration,
    /** How long a condition holds before firing, and stays clear before resolving. Default 1m. */
    for: Duration,
    /** After a resolve, the same rule and queue stays quiet this long. Default 5m. */
    cooldown: Duration,
  }),
  /**
   * Hysteresis: a firing alert resolves only once the value is past the threshold by this share
   * on the safe side (below `threshold × (1 − margin)` for `gt`) for the `for` time. Default 0.1.
   */
  margin: z.number().min(0).max(1),
  /** Alert events kept in the alerts stream (history, subscription resume). Default 10000. */
  log_max_len: z.number().int().min(100),
  /**
   * Rules by name; merged over the defaults in config/taskplane.yaml (the monitoring.alerts
   * thresholds and the built-ins). `enabled: false` turns one off.
   */
  rules: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case rule names'), AlertRuleConfig),
  /** Webhooks every alert is posted to (more can be added through the API). Default none. */
  webhooks: z.array(WebhookConfig),
  delivery: z.strictObject({
    /** Attempts per webhook and alert event before it is given up. Default 10. */
    max_attempts: z.number().int().min(1).max(100),
    /** Delay before the first retry, doubled each time. Default 1s. */
    base_delay: Duration,
    /** How long one POST may take. Default 10s. */
    timeout: Duration,
  }),
});
export type AlertsConfig = z.infer<typeof AlertsConfig>;

export const TaskplaneConfig = z.strictObject({
  /** `development` turns on GraphiQL, introspection and the bootstrap admin token. */
  mode: z.enum(['development', 'production']),
  redis: z.strictObject({
    /**
     * Where Redis is. `null` (the default) means: use 127.0.0.1:6379 when it answers, otherwise
     * `pnpm start` launches an embedded `redis-server` under `.taskplane/`.
     */
    url: z.string().url().nullable(),
    /** Prefix of every key Taskplane and BullMQ write. Several deployments can share one Redis. */
    prefix: z.string().regex(/^[A-Za-z0-9_\-.]+$/, 'letters, digits, _ - . only'),
    /** Upper bound of Redis connections one process opens. */
    max_connections: z.number().int().min(4),
    connect_timeout: Duration,
  }),
  queues: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case queue names'), QueueConfig),
  retry: z.strictObject({
    /** Retries after the first attempt (so attempts = max_retries + 1). */
    max_retries: z.number().int().min(0).max(99),
    base_delay: Duration,
    max_delay: Duration,
    /** Fraction of each delay that is randomised. */
    jitter: z.number().min(0).max(1),
  }),
  workers: z.strictObject({
    /** Concurrency of a queue that sets none. */
    default_count: z.number().int().min(1),
    /** No queue's concurrency may be raised above this. */
    max_count: z.number().int().min(1),
    task_timeout: Duration,
    /** On SIGTERM running tasks get this long to finish before they are handed back. */
    shutdown_timeout: Duration,
    /** Queues a worker consumes when started without `--queues`; empty = every configured queue. */
    queues: z.array(z.string()),
    /** Extra handler modules to load (paths relative to the config file, or package names). */
    handler_modules: z.array(z.string()),
    heartbeat_interval: Duration,
    /** A running task's lock lasts this long and is renewed at half of it; a dead worker loses it. */
    lock_duration: Duration,
    /** How often workers look for tasks whose worker died (stalled), and hand them to another. */
    stalled_interval: Duration,
  }),
  monitoring: z.strictObject({
    stats_interval: Duration,
    health_check_interval: Duration,
    alerts: AlertThresholds,
  }),
  metrics: z.strictObject({
    /**
     * How long per-minute metric buckets (`metrics` queries with a step under an hour, the latest
     * minute of `queueStats`) are kept. Default 48h.
     */
    minute_retention: Duration,
    /** How long per-hour buckets, rolled up from the minutes, are kept. Default 30d. */
    hour_retention: Duration,
  }),
  events: z.strictObject({
    /** Events kept in the event stream; a resume cursor older than this is expired. */
    stream_max_len: z.number().int().min(1000),
  }),
  retention: z.strictObject({
    /** Finished tasks and workflows that finished longer ago than this are trimmed. */
    finished_max_age: Duration,
    /** Keep at most this many finished tasks, and as many finished workflows, per status. */
    finished_max_count: z.number().int().min(1),
    /** How long an idempotency key keeps returning its task after the task finished. */
    idempotency_window: Duration,
    /** How often each worker process trims finished records. */
    interval: Duration,
  }),
  api: z.strictObject({
    host: z.string(),
    port: z.number().int().min(0).max(65535),
    /** Origins allowed to open WebSockets and send cross-site requests; empty = same origin only. */
    allowed_origins: z.array(z.string()),
    max_depth: z.number().int().min(1),
    max_aliases: z.number().int().min(1),
    max_tokens: z.number().int().min(1),
    /**
     * Highest query cost (graphql-armor: 2 per object, 1 per scalar, times 1.5 per level of depth;
     * page sizes do not count). Default 50000: a page of 500 tasks with their attempts and errors,
     * as the README's query asks, costs about 29000.
     */
    max_cost: z.number().int().min(100),
    /** Largest request body or WebSocket message, in bytes. */
    max_body_bytes: z.number().int().min(1024),
    max_subscriptions_per_socket: z.number().int().min(1),
    /**
     * Deepest nesting of a task's `params` (objects and arrays); deeper is refused with VALIDATION
     * before anything walks it. Default 32.
     */
    max_params_depth: z.number().int().min(1).max(1000),
    /** Largest task `params` as JSON, in bytes; larger is refused with VALIDATION. Default 65536. */
    max_params_bytes: z.number().int().min(256),
    /** Requests per minute per token; null = unlimited. */
    rate_limit_per_minute: z.number().int().min(1).nullable(),
    /**
     * A JSON file of persisted operations (`{ "<sha256 or id>": "query ..." }`); clients send
     * `extensions.persistedQuery.sha256Hash` instead of the document. null = none.
     */
    persisted_operations: z.string().nullable(),
    /** With persisted operations: refuse any other document (an allow-list). */
    persisted_only: z.boolean(),
  }),
  console: z.strictObject({
    host: z.string(),
    port: z.number().int().min(0).max(65535),
  }),
  auth: z.strictObject({
    /** Admin token accepted in development mode; generated and printed at start when null. */
    bootstrap_token: z.string().min(16).nullable(),
  }),
  catalogue: z.strictObject({
    /** The marketplace the product-sync handlers read from. null = the bundled demo source. */
    base_url: z.string().url().nullable(),
    request_timeout: Duration,
  }),
  task_types: z.record(z.string(), TaskTypeConfig),
  scheduler: z.strictObject({
    /**
     * A tick at most this late is still fired (catching up after a leader's failover); a schedule
     * further behind counts its backlog as missed and applies its `missed` policy. Default 5s.
     */
    misfire_grace: Duration,
    /**
     * How long the firing process's lease lasts without renewal: a killed leader is replaced after
     * this (keep it well under `misfire_grace` so a failover loses no tick). Default 2s.
     */
    lease_duration: Duration,
  }),
  /** Schedules applied at start-up, by name (see `ScheduleConfig`). Default none. */
  schedules: z.record(z.string(), ScheduleConfig),
  alerts: AlertsConfig,
});
export type TaskplaneConfig = z.infer<typeof TaskplaneConfig>;
export type TaskplaneConfigInput = z.input<typeof TaskplaneConfig>;
