/**
 * Every Redis key and channel name Taskplane uses, in one place (after BullMQ's queue-keys.ts).
 * Shape: `<prefix>:<scope>:<name>`. BullMQ's own keys live under `<prefix>:q:<queue>:*`, so a
 * queue name can never collide with ours.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** The prefix handed to BullMQ. */
  get bullPrefix(): string {
    return `${this.prefix}:q`;
  }
  /** BullMQ's per-queue event stream: the write-ahead log the projector reads. */
  bullEvents(queue: string): string {
    return `${this.bullQueue(queue)}:events`;
  }
  /** BullMQ's key prefix of one queue, as its `parent.queue` option and our scripts want it. */
  bullQueue(queue: string): string {
    return `${this.bullPrefix}:${queue}`;
  }
  /**
   * What ends a BullMQ job's lock key (`<job key>:lock`, a string with a TTL while a worker holds
   * the job); the repair walk recognises locks by it (see scripts/bull.lua, bullOrphanedLock).
   */
  get bullLockSuffix(): string {
    return ':lock';
  }
  /** A BullMQ job's hash (written only by BullMQ and scripts/bull.lua; tests read it). */
  bullJob(queue: string, id: string): string {
    return `${this.bullQueue(queue)}:${id}`;
  }
  /** A BullMQ job's lock. */
  bullJobLock(queue: string, id: string): string {
    return `${this.bullJob(queue, id)}${this.bullLockSuffix}`;
  }
  /** What the scripts append `<queue>:<job id>` to for a BullMQ job's hash (see scripts/bull.lua). */
  get bullKeyPrefix(): string {
    return `${this.bullPrefix}:`;
  }

  /** Hash: the control plane's record of a task. */
  task(id: string): string {
    return `${this.taskPrefix}${id}`;
  }
  /** List: a task's log lines. */
  taskLog(id: string): string {
    return `${this.prefix}:task:${id}:log`;
  }
  /**
   * Set: the dependencies of a task that have not finished yet (empty or absent = none left).
   * The scripts build it as `<task prefix><id>:deps`.
   */
  taskDeps(id: string): string {
    return `${this.task(id)}:deps`;
  }
  /** Set: the tasks waiting on this one (`<task prefix><id>:dependents`); gone once it finished. */
  taskDependents(id: string): string {
    return `${this.task(id)}:dependents`;
  }
  /** What the Lua scripts append a task id to for its record. */
  get taskPrefix(): string {
    return `${this.prefix}:task:`;
  }
  /** What the Lua scripts append index names (`all`, `status:<s>`, ...) to. */
  get indexPrefix(): string {
    return `${this.prefix}:idx:`;
  }
  /** Sorted set, score = created at: every task. */
  get indexAll(): string {
    return `${this.indexPrefix}all`;
  }
  indexStatus(status: string): string {
    return `${this.indexPrefix}status:${status}`;
  }
  indexType(type: string): string {
    return `${this.indexPrefix}type:${type}`;
  }
  indexQueue(queue: string): string {
    return `${this.indexPrefix}queue:${queue}`;
  }
  indexLabel(key: string, value: string): string {
    return `${this.indexPrefix}label:${key}=${value}`;
  }
  /** Sorted set, score = created at: the children of a task (fan-out). */
  indexParent(parentId: string): string {
    return `${this.indexPrefix}parent:${parentId}`;
  }
  /** Sorted set, score = created at: the tasks a schedule submitted. */
  indexSchedule(scheduleId: string): string {
    return `${this.indexPrefix}schedule:${scheduleId}`;
  }
  /** Sorted set, score = created at: the tasks of a fair group (any queue). */
  indexGroup(group: string): string {
    return `${this.indexPrefix}group:${group}`;
  }
  /** Sorted set, score = finished at: every finished task (retention trims from here). */
  get indexFinished(): string {
    return `${this.indexPrefix}finished`;
  }
  /** Sorted set, score = when it was dead-lettered: the dead-letter queue in the order it grew. */
  get indexDeadLettered(): string {
    return `${this.indexPrefix}dead`;
  }
  /** String: idempotency key to task id. */
  idempotency(key: string): string {
    return `${this.idempotencyPrefix}${key}`;
  }
  /** What the Lua scripts append an idempotency key to. */
  get idempotencyPrefix(): string {
    return `${this.prefix}:idem:`;
  }
  /** Counter: the LIFO sequence of one queue and priority (see bull-priority.ts). */
  lifoSequence(queue: string, priority: number): string {
    return `${this.prefix}:lifo:${queue}:${priority}`;
  }
  /**
   * Hash: a workflow (`id`, `name`, `createdAt`, `size`, `status`, `finishedAt`, and `c:<status>`
   * = how many nodes are in that status). The scripts derive this prefix from `taskPrefix`
   * (`task:` replaced by `workflow:`; see scripts/workflow.lua).
   */
  workflow(id: string): string {
    return `${this.workflowPrefix}${id}`;
  }
  /** Hash: a workflow's node key to task id. */
  workflowNodes(id: string): string {
    return `${this.workflow(id)}:nodes`;
  }
  get workflowPrefix(): string {
    return `${this.prefix}:workflow:`;
  }
  /** Sorted set, score = created at: every workflow (`<prefix>:workflows:all`). */
  get workflows(): string {
    return `${this.workflowsPrefix}all`;
  }
  /** Sorted set, score = created at: the workflows in one status. */
  workflowsByStatus(status: string): string {
    return `${this.workflowsPrefix}status:${status}`;
  }
  /** Sorted set, score = created at: the workflows of one name. */
  workflowsByName(name: string): string {
    return `${this.workflowsPrefix}name:${name}`;
  }
  get workflowsPrefix(): string {
    return `${this.prefix}:workflows:`;
  }
  /** Hash: product id to normalised product JSON. */
  get products(): string {
    return `${this.prefix}:products`;
  }

  /** Stream: the event log every subscriber reads. Entry ids are the cursors. */
  get events(): string {
    return `${this.prefix}:events`;
  }
  /** String: the last BullMQ stream entry a queue's projector applied. */
  projectorCheckpoint(queue: string): string {
    return `${this.prefix}:projector:${queue}:checkpoint`;
  }
  /** String with TTL: which process applies BullMQ's events (the projector leader). */
  get projectorLease(): string {
    return `${this.prefix}:projector:lease`;
  }

  /**
   * What a queue's metric keys start with, `<prefix>:metrics:<queue>:`. The scripts derive it from
   * `taskPrefix` (`task:` replaced by `metrics:`, then the queue; see scripts/metrics.lua).
   */
  metricsPrefix(queue: string): string {
    return `${this.prefix}:metrics:${queue}:`;
  }
  /**
   * Hash: one queue's metrics of one minute (`minute` = epoch ms / 60000). Fields
   * `<type>|<counter>` (transitions), `<type>|run|<bucket>` and `<type>|wait|<bucket>` (DDSketch
   * buckets of durations in ms), `@<gauge>` (sampled once a minute). Written by the scripts that
   * record transitions; expires `metrics.minute_retention` after its minute once it was folded.
   */
  metricsMinute(queue: string, minute: number): string {
    return `${this.metricsPrefix(queue)}m:${minute}`;
  }
  /** Hash: one queue's metrics of one hour (`hour` = epoch ms / 3600000), the sum of its folded minutes. */
  metricsHour(queue: string, hour: number): string {
    return `${this.metricsPrefix(queue)}h:${hour}`;
  }
  /** Hash: one queue's cumulative counters and sketches since it began (every folded minute), for /metrics. */
  metricsTotals(queue: string): string {
    return `${this.metricsPrefix(queue)}total`;
  }
  /** String: the last minute of a queue folded into its hours and totals (metrics-fold.lua). */
  metricsFolded(queue: string): string {
    return `${this.metricsPrefix(queue)}folded`;
  }
  /** String with TTL: which process folds minutes and samples gauges (the metrics keeper leader). */
  get metricsLease(): string {
    return `${this.prefix}:metrics-keeper:lease`;
  }

  /**
   * Set: urgent tasks of a queue that were given a running task's slot (preempt.lua) and have not
   * started yet; their slots count as taken while the preempted tasks are being handed back.
   */
  preemptGrants(queue: string): string {
    return `${this.prefix}:queue:${queue}:preempt-grants`;
  }

  /**
   * Fair groups (scripts/groups.lua builds these from `taskPrefix`, `task:` replaced by `queue:`;
   * group names hold no ':'). Hash: the queue's group limits as the dispatcher applies them
   * (`concurrency`, `rateMax`, `rateDuration`, `window`, `below`; written by `applyLimits`) and its
   * own state (`queued`: grouped tasks taken from their lanes and not started yet; `seq`: the
   * submit order of the lanes).
   */
  groupState(queue: string): string {
    return `${this.prefix}:queue:${queue}:groups:state`;
  }
  /**
   * Hash: group name to its counts, `"<parked> <queued> <running> <in flight> <in ring>"`; a group
   * with none of them is removed. `queue { groups }` pages through it with HSCAN.
   */
  groupCounts(queue: string): string {
    return `${this.prefix}:queue:${queue}:groups`;
  }
  /** List: the groups of a queue that have parked tasks and may take a turn, in turn order. */
  groupRing(queue: string): string {
    return `${this.prefix}:queue:${queue}:groups:ring`;
  }
  /** Sorted set: a group's parked task ids, scored by priority, then submit order. */
  groupLane(queue: string, group: string): string {
    return `${this.prefix}:queue:${queue}:group:${group}:lane`;
  }
  /** List with TTL: a group's latest start times (ms), newest first, for its rate limit. */
  groupStarts(queue: string, group: string): string {
    return `${this.prefix}:queue:${queue}:group:${group}:starts`;
  }

  /** Hash: a queue's run-time settings (concurrency, rate limit) shared by every worker. */
  queueSettings(queue: string): string {
    return `${this.prefix}:queue:${queue}:settings`;
  }
  /**
   * Stream, capped: control messages to worker processes (cancel, concurrency). Workers follow it
   * by cursor, so a dropped connection delays a message but never loses it.
   */
  get controlLog(): string {
    return `${this.prefix}:control:log`;
  }

  /** Hash with TTL: one worker process's heartbeat. */
  worker(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }
  /** Sorted set, score = last heartbeat: the worker processes seen recently. */
  get workers(): string {
    return `${this.prefix}:workers`;
  }
  /** Stream, capped: worker presence changes, followed by every API process by cursor. */
  get workersLog(): string {
    return `${this.prefix}:workers:log`;
  }

  /** Hash: API token hash to token record. */
  get tokens(): string {
    return `${this.prefix}:tokens`;
  }
  /** String: a bulk operation's JSON state. */
  bulkOperation(id: string): string {
    return `${this.prefix}:bulk:${id}`;
  }
  /** String with TTL: set to ask a running bulk operation to stop. */
  bulkCancel(id: string): string {
    return `${this.bulkOperation(id)}:cancel`;
  }
  /** Stream, capped: bulk operation progress (each entry the operation's state), followed by cursor. */
  get bulkLog(): string {
    return `${this.prefix}:bulk:log`;
  }

  /** Hash: a schedule (`def` = its definition as JSON, plus `nextRunAt`, `lastTaskId`, `lastOutcome`). */
  schedule(id: string): string {
    return `${this.prefix}:schedule:${id}`;
  }
  /** List, capped: a schedule's recent tick outcomes (JSON), newest first. */
  scheduleTicks(id: string): string {
    return `${this.schedule(id)}:ticks`;
  }
  /** Sorted set, score = created at: every schedule (lists page through it). */
  get schedules(): string {
    return `${this.prefix}:schedules:all`;
  }
  /** Hash: schedule name to id (names are unique; configuration applies by name). */
  get scheduleNames(): string {
    return `${this.prefix}:schedules:names`;
  }
  /** Sorted set, score = next run (epoch ms): active schedules, so the scheduler reads what is due without a scan. */
  get schedulesDue(): string {
    return `${this.prefix}:schedules:due`;
  }
  /** Stream, capped: schedule events (created, updated, deleted, fired, skipped), followed by cursor. */
  get schedulesLog(): string {
    return `${this.prefix}:schedules:log`;
  }
  /** String with TTL: which process fires schedules (the scheduler leader). */
  get schedulerLease(): string {
    return `${this.prefix}:scheduler:lease`;
  }

  /** Hash: alert rule id to rule JSON, for rules made through the API (configured rules are not stored). */
  get alertRules(): string {
    return `${this.prefix}:alerts:rules`;
  }
  /** Hash: rule id to the time (epoch ms) it is muted until, for any rule (configured ones too). */
  get alertMutes(): string {
    return `${this.prefix}:alerts:mutes`;
  }
  /**
   * Hash: the evaluator's state per rule instance (`<rule id>|<queue or worker or ->`) as JSON
   * (`AlertInstanceState`); written only by scripts/alerts-commit.lua, so a new evaluator continues
   * where the last one stopped.
   */
  get alertState(): string {
    return `${this.prefix}:alerts:state`;
  }
  /** Hash: alert id to alert JSON, the alerts firing now (`firingAlerts`). Written with the state. */
  get alertsFiring(): string {
    return `${this.prefix}:alerts:firing`;
  }
  /**
   * Stream, capped (`alerts.log_max_len`): alert events (`fired`, `resolved`), the history and what
   * the `alerts` subscription and webhooks follow by cursor. Entry ids are the cursors.
   */
  get alertsLog(): string {
    return `${this.prefix}:alerts:log`;
  }
  /** Counter: bumped by every commit of the evaluator; a commit based on an older value is refused. */
  get alertsVersion(): string {
    return `${this.prefix}:alerts:version`;
  }
  /** String with TTL: which process evaluates the rules (the alert evaluator leader). */
  get alertsLease(): string {
    return `${this.prefix}:alerts:lease`;
  }
  /**
   * Hash: worker id to its last presence JSON, the workers the evaluator saw online and did not
   * see leave; one whose heartbeat record expired is gone. Written with the state.
   */
  get alertsWorkers(): string {
    return `${this.prefix}:alerts:workers`;
  }
  /** String: the last presence stream entry (`workersLog`) the evaluator applied to `alertsWorkers`. */
  get alertsWorkersCursor(): string {
    return `${this.prefix}:alerts:workers:cursor`;
  }
  /** Hash: webhook id to webhook JSON (url, secret, min severity), for webhooks made through the API. */
  get alertWebhooks(): string {
    return `${this.prefix}:alerts:webhooks`;
  }
  /** String: the last alerts log entry handed to webhook delivery (one job per webhook and entry). */
  get alertsDispatched(): string {
    return `${this.prefix}:alerts:dispatched`;
  }
  /** List, capped, with TTL: the webhook delivery attempts of one alert (JSON), oldest first. */
  alertDeliveries(alertId: string): string {
    return `${this.prefix}:alert:${alertId}:deliveries`;
  }
}
