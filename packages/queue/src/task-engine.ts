import { randomBytes } from 'node:crypto';
import {
  type Backoff,
  type ChildFailurePolicy,
  ConflictError,
  canTransition,
  compareStreamIds,
  type FieldError,
  fieldErrors,
  isFinal,
  type Keys,
  type Logger,
  NotFoundError,
  type ParsedTaskInput,
  PRIORITY_DEFAULT,
  paramsLimitErrors,
  parseReporting,
  type Task,
  TaskInput,
  type TaskplaneConfig,
  type TaskplaneError,
  type TaskStatus,
  type TaskTypeRegistry,
  ValidationError,
} from '@taskplane/core';
import { FlowProducer, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type BullJobSpec, bullClient, sendAdds } from './bull-add';
import { toBullPriority } from './bull-priority';
import { ControlKind, publishControl } from './control';
import { type GroupPage, listGroups, writeGroupLimits } from './groups';
import { BACKOFF_TYPE, type JobData } from './job-data';
import { inOneWrite } from './one-write';
import { listWorkers } from './presence';
import {
  type QueueSettings,
  type QueueSettingsChange,
  readQueueSettings,
  validateSettings,
  writeQueueSettings,
} from './queue-settings';
import { groupsWake, recordArgs, type ScriptedRedis, withScripts } from './scripts';
import { newTaskId } from './task-id';
import { TaskStore } from './task-store';

/** Points where a test can make the engine fail, the way a crash would. */
export interface EngineHooks {
  /** Called after a submit claimed its idempotency keys and before it adds any job. */
  afterIdempotencyClaim?(): Promise<void>;
}

export interface TaskEngineOptions {
  /** Fault injection for tests; none in production. */
  hooks?: EngineHooks;
  config: TaskplaneConfig;
  registry: TaskTypeRegistry;
  keys: Keys;
  /** A producer connection (fails fast while Redis is away). */
  redis: Redis;
  logger: Logger;
}

/** One submitted item's outcome: the task, and whether this call created it (false = idempotent hit). */
export type SubmitOutcome =
  | { ok: true; task: Task; created: boolean }
  | { ok: false; error: ValidationError };

export interface QueueCounts {
  pending: number;
  /** Delayed tasks and retries waiting out their backoff. */
  delayed: number;
  running: number;
  /** Waiting for their children. */
  blocked: number;
  deadLettered: number;
  /** Finished jobs BullMQ still keeps (the latest 1000). */
  succeeded: number;
}

/** What `deleteTasks` did with one id: deleted it, found no record, or left it (see `deleteTasks`). */
export type DeleteOutcome = 'deleted' | 'missing' | 'refused';

export interface DeleteOptions {
  /** Delete only tasks in one of these (finished) statuses; any finished status when absent. */
  statuses?: TaskStatus[];
  /** Delete only tasks that finished before this time (epoch ms). */
  finishedBefore?: number;
}

/** The nodes of one workflow, aligned with the inputs of `submitMany` (see `WorkflowService`). */
export interface WorkflowSubmission {
  id: string;
  name: string;
  /** Node keys, one per input, and the keys each node depends on. */
  nodes: { key: string; dependsOn: string[] }[];
}

export interface SubmitOptions {
  /**
   * Submit the inputs as the nodes of a workflow: all of them or, when any is invalid, none (no
   * job is added; the outcomes say why), in one BullMQ transaction across their queues.
   */
  workflow?: WorkflowSubmission;
  /**
   * Submit as children of this task: it waits for them and then runs again (a fan-out), or fails
   * at the first failed child when `onChildFailure` is `fail_parent` (default `continue`).
   */
  parent?: { id: string; queue: string; onChildFailure?: ChildFailurePolicy };
  /** The schedule submitting these tasks (set on each task as `scheduleId`). */
  scheduleId?: string;
}

/**
 * BullMQ events applied per projection call. The call blocks Redis while it runs (about 25 µs an
 * event), so a catch-up after a pause is cut into calls of a few milliseconds each, letting other
 * clients' commands in between; larger calls gain little, writes being gathered per call already.
 */
const PROJECT_BATCH = 200;

/** The error of a task input with these field errors. */
export function invalidTask(fields: FieldError[]): ValidationError {
  return new ValidationError(
    `invalid task: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
    fields,
  );
}

/** What one projection call did: events applied, and whether BullMQ trimmed some before they were. */
export interface ProjectResult {
  applied: number;
  trimmed: boolean;
}
/** How long a submit trusts queue settings it read (preemption): a change made elsewhere applies within this. */
const SETTINGS_FRESH_MS = 1000;

/**
 * How far ahead a job that waits on dependencies is "parked" in BullMQ's delayed set: far enough
 * that BullMQ never runs it on its own, near enough that BullMQ's delayed score (time × 4096) stays
 * an exact double. The dependencies' scripts make it runnable (scripts/deps.lua, bull.lua).
 */
export const PARK_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * BullMQ's options for what a child that failed for good does to its parent (BullMQ 6 applies
 * them in moveToFinished when the child fails after its last attempt):
 * - `fail_parent`: `failParentOnFailure`. BullMQ marks the parent with a deferred failure ("child
 *   <key> failed") and moves it out of waiting-children; the next worker to take it fails it
 *   without running the handler, and the projection records the child's error on the parent
 *   (`CHILD_FAILED`, see project.lua). Siblings still running carry on.
 * - `continue`: `ignoreDependencyOnFailure`. The child moves to the parent's failed dependencies
 *   (with its failure reason, read back by `getIgnoredChildrenFailures`) and the parent runs again
 *   once nothing is pending.
 * - `ignore`: `removeDependencyOnFailure`. The child is dropped from the parent's dependencies and
 *   nothing of it is kept there, so the parent's outcomes leave it out. (`continueParentOnFailure`
 *   was not used: it runs the parent at the first failure, before its other children finish.)
 */
function childFailureOptions(policy: ChildFailurePolicy): JobsOptions {
  if (policy === 'fail_parent') return { failParentOnFailure: true };
  if (policy === 'ignore') return { removeDependencyOnFailure: true };
  return { ignoreDependencyOnFailure: true };
}

/**
 * A grouped task is parked until its group's turn (scripts/groups.lua): it cannot also wait for
 * a time or for dependencies (one parking each), nor be a fan-out child (its parent waits on it
 * through BullMQ, which a parked job's removal on cancel would break).
 */
function groupConflicts(input: ParsedTaskInput): void {
  const other =
    input.delayMs !== undefined || input.runAt !== undefined
      ? 'a delay'
      : input.dependsOn?.length
        ? 'dependencies'
        : input.parentId
          ? 'a parent task'
          : null;
  if (other) {
    throw new ValidationError(`a grouped task cannot also have ${other}`, [
      { path: 'group', message: `not with ${other}: a grouped task runs at its group's turn` },
    ]);
  }
}

/** A task as the projection records it when its job is added (see `create` in project.lua). */
function submittedTask(
  id: string,
  type: string,
  queue: string,
  data: JobData,
  createdAt: number,
  parkedOrDelayed: number,
): Task {
  // A grouped task's parking is no delay of its own: it is pending, waiting for its turn.
  const delay = data.group ? 0 : parkedOrDelayed;
  return {
    id,
    type,
    queue,
    status: delay > 0 ? 'delayed' : 'pending',
    priority: data.priority,
    order: data.order,
    params: data.params,
    labels: data.labels,
    idempotencyKey: data.idempotencyKey ?? null,
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    finishedAt: null,
    runAt: delay > 0 ? createdAt + delay : null,
    attemptsMade: 0,
    maxAttempts: data.maxAttempts,
    timeoutMs: data.timeoutMs,
    backoff: data.backoff,
    attempts: [],
    result: null,
    progress: 0,
    parentId: data.parentId ?? null,
    dependsOn: data.dependsOn ?? [],
    onDependencyFailure: data.onDependencyFailure ?? 'cancel',
    onChildFailure: data.onChildFailure ?? 'continue',
    scheduleId: data.scheduleId ?? null,
    workflowId: data.workflowId ?? null,
    group: data.group ?? null,
  };
}

/**
 * The task engine's write side: submit, cancel, retry, dead letters, queue settings. Every change
 * goes through BullMQ or one of our scripts; records and events follow from those.
 */
export class TaskEngine {
  readonly config: TaskplaneConfig;
  readonly registry: TaskTypeRegistry;
  readonly keys: Keys;
  readonly redis: ScriptedRedis;
  readonly store: TaskStore;
  private readonly logger: Logger;
  private readonly hooks: EngineHooks;
  private readonly queues = new Map<string, Queue>();
  private names: string[] | null = null;
  /** The newest BullMQ event each queue's projection got to in this process. */
  private readonly applied = new Map<string, string>();
  /** Per queue, the projection call in flight and the one queued behind it (see `project`). */
  private readonly projecting = new Map<
    string,
    { current: Promise<ProjectResult>; next: Promise<ProjectResult> | null }
  >();
  /**
   * Queue settings as a submit checks them for preemption, kept `SETTINGS_FRESH_MS`: reading them
   * on every submit was a third round trip on the hot path for a setting that rarely changes.
   */
  private readonly recentSettings = new Map<string, { settings: QueueSettings; until: number }>();
  /** Queues whose group limits this process has handed to the dispatcher (see `ensureGroupLimits`). */
  private readonly groupLimitsWritten = new Set<string>();

  constructor(options: TaskEngineOptions) {
    this.config = options.config;
    this.registry = options.registry;
    this.keys = options.keys;
    this.redis = withScripts(options.redis);
    this.logger = options.logger;
    this.hooks = options.hooks ?? {};
    this.store = new TaskStore(this.redis, this.keys);
  }

  /** Every queue tasks can go to: configured ones and those task types name. */
  queueNames(): string[] {
    this.names ??= [...new Set([...Object.keys(this.config.queues), ...this.registry.queues()])].sort();
    return this.names;
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.redis,
        prefix: this.keys.bullPrefix,
        streams: { events: { maxLen: this.config.events.stream_max_len } },
      });
      queue.on('error', (error) => this.logger.error({ err: error, queue: name }, 'queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Apply every BullMQ event of a queue not yet applied to records and the event log; resolves once
   * everything added before the call is applied. Calls made while one is in flight share one call
   * that starts after it: 32 submits in flight made 32 projection calls, each a round trip and a
   * script run, where two do the same work.
   */
  project(queue: string): Promise<ProjectResult> {
    const slot = this.projecting.get(queue);
    if (!slot) {
      const current = this.projectNow(queue).finally(() => this.advance(queue));
      this.projecting.set(queue, { current, next: null });
      return current;
    }
    slot.next ??= slot.current.then(
      () => this.projectNow(queue),
      () => this.projectNow(queue),
    );
    return slot.next;
  }

  /** The call in flight ended: the queued one (if any) becomes the one in flight. */
  private advance(queue: string): void {
    const slot = this.projecting.get(queue);
    if (!slot) return;
    if (!slot.next) {
      this.projecting.delete(queue);
      return;
    }
    const current = slot.next.finally(() => this.advance(queue));
    current.catch(() => {});
    this.projecting.set(queue, { current, next: null });
  }

  private async projectNow(queue: string): Promise<ProjectResult> {
    const args = [
      this.keys.bullEvents(queue),
      this.keys.projectorCheckpoint(queue),
      this.keys.events,
      ...recordArgs(this.keys, this.config.events.stream_max_len),
      this.keys.bullKeyPrefix,
      this.keys.idempotencyPrefix,
      Math.round(this.config.retention.idempotency_window / 1000),
      queue,
      PROJECT_BATCH,
    ];
    let applied = 0;
    let trimmed = false;
    for (;;) {
      const [count, last, more, gap] = await this.redis.tpProject(...args);
      applied += count;
      trimmed ||= gap === 1;
      this.applied.set(queue, last);
      if (more !== 1) break;
    }
    if (trimmed) {
      this.logger.error(
        { queue },
        'BullMQ trimmed job events before they were recorded; raise events.stream_max_len',
      );
    }
    return { applied, trimmed };
  }

  /**
   * Add jobs to a queue and apply their events: the adds and the projection call are sent in one
   * write (the connection corked around them) and answered in one round trip; a projection
   * already in flight makes the call after it, which applies these adds too.
   */
  private async addAndProject(queue: string, jobs: BullJobSpec[]): Promise<void> {
    const bull = this.queue(queue);
    const client = await bullClient(bull);
    const [added, projected] = inOneWrite(
      this.redis,
      () => [Promise.all(sendAdds(bull, client, jobs)), this.project(queue)] as const,
    );
    const [adds, projection] = await Promise.allSettled([added, projected]);
    if (adds.status === 'rejected') throw adds.reason;
    if (projection.status === 'rejected') throw projection.reason;
  }

  /**
   * Resolves when the projection calls of a queue in flight in this process (a submit's) when
   * called have answered, whatever they found; at once when there are none.
   */
  async projected(queue: string): Promise<void> {
    const slot = this.projecting.get(queue);
    // The queued call, when there is one, starts after the one in flight and applies its adds too.
    if (slot) await (slot.next ?? slot.current).catch(() => {});
  }

  /**
   * Whether this process already applied BullMQ's events of a queue up to `entryId` (a submit
   * projects its own jobs): the projector loop then skips a call that would find nothing to do.
   */
  appliedUpTo(queue: string, entryId: string): boolean {
    const last = this.applied.get(queue);
    return last !== undefined && compareStreamIds(entryId, last) <= 0;
  }

  /** The last BullMQ event of a queue this process applied (or saw applied), if any. */
  lastApplied(queue: string): string | undefined {
    return this.applied.get(queue);
  }

  private resolve(
    input: ParsedTaskInput,
    now: number,
  ): { id: string; queue: string; data: JobData; delay: number } {
    const type = this.registry.get(input.type);
    const queue = input.queue ?? type.queue;
    if (!this.queueNames().includes(queue)) {
      throw new ValidationError(`unknown queue "${queue}"`, [
        { path: 'queue', message: `known queues: ${this.queueNames().join(', ')}` },
      ]);
    }
    const queueConfig = this.config.queues[queue];
    const retry = this.config.retry;
    const backoff: Backoff = {
      baseDelayMs: input.backoff?.baseDelayMs ?? type.defaults?.backoff?.baseDelayMs ?? retry.base_delay,
      maxDelayMs: input.backoff?.maxDelayMs ?? type.defaults?.backoff?.maxDelayMs ?? retry.max_delay,
      jitter: input.backoff?.jitter ?? type.defaults?.backoff?.jitter ?? retry.jitter,
    };
    const dependsOn = input.dependsOn?.length ? [...new Set(input.dependsOn)] : undefined;
    if (dependsOn && (input.runAt !== undefined || input.delayMs !== undefined)) {
      throw new ValidationError('a task with dependencies cannot also be delayed', [
        {
          path: 'dependsOn',
          message: 'not with delayMs or runAt: the task runs when its dependencies succeed',
        },
      ]);
    }
    if (dependsOn && input.parentId) {
      throw new ValidationError('a fan-out child cannot have dependencies', [
        { path: 'dependsOn', message: 'not with a parent task' },
      ]);
    }
    if (input.group) groupConflicts(input);
    const delay =
      dependsOn || input.group
        ? PARK_DELAY_MS
        : input.runAt !== undefined
          ? Math.max(0, input.runAt - now)
          : (input.delayMs ?? 0);
    return {
      id: newTaskId(now),
      queue,
      delay,
      data: {
        // Parsed against the type's schema by `validate`.
        params: input.params as Record<string, unknown>,
        labels: input.labels ?? {},
        priority: input.priority ?? type.defaults?.priority ?? queueConfig?.priority ?? PRIORITY_DEFAULT,
        order: input.order ?? queueConfig?.order ?? 'fifo',
        maxAttempts: input.maxAttempts ?? type.defaults?.maxAttempts ?? retry.max_retries + 1,
        timeoutMs: input.timeoutMs ?? type.defaults?.timeoutMs ?? this.config.workers.task_timeout,
        backoff,
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        ...(input.parentId ? { parentId: input.parentId } : {}),
        ...(dependsOn ? { dependsOn } : {}),
        ...(input.onDependencyFailure ? { onDependencyFailure: input.onDependencyFailure } : {}),
        ...(input.onChildFailure ? { onChildFailure: input.onChildFailure } : {}),
        ...(input.group ? { group: input.group } : {}),
      },
    };
  }

  /** BullMQ options for a task; also used when a finished task is run again. */
  jobOptions(
    id: string,
    data: JobData,
    delay: number,
    lifoSequence: number,
    timestamp = Date.now(),
  ): JobsOptions {
    return {
      jobId: id,
      // The record's creation time, so the submitter knows the record without reading it back.
      timestamp,
      priority: toBullPriority(data.priority, data.order, lifoSequence),
      delay,
      attempts: data.maxAttempts,
      backoff: { type: BACKOFF_TYPE },
      // One stack-trace entry per failed attempt: the projector reads each attempt's error there.
      stackTraceLimit: data.maxAttempts + 1,
      // Our records are the system of record; BullMQ keeps finished jobs only briefly.
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 10_000 },
    };
  }

  /**
   * Every field error of a task input at once (the size and depth of its params, its shape, its
   * type, its params against the type's schema), or the input parsed, params included. The one
   * validation a submit makes: the API reports these fields as they are.
   */
  validate(raw: TaskInput): { ok: true; input: ParsedTaskInput } | { ok: false; fields: FieldError[] } {
    const limits = paramsLimitErrors(raw.params, {
      maxDepth: this.config.api.max_params_depth,
      maxBytes: this.config.api.max_params_bytes,
    });
    if (limits.length > 0) return { ok: false, fields: limits };
    const parsed = parseReporting(TaskInput, raw);
    const fields = parsed.success ? [] : fieldErrors(parsed.error);
    let params: Record<string, unknown> | null = null;
    try {
      params = this.registry.parseParams(raw.type, (parsed.success ? parsed.data.params : raw.params) ?? {});
    } catch (error) {
      if (error instanceof NotFoundError) {
        if (!fields.some((e) => e.path === 'type')) fields.push({ path: 'type', message: error.message });
      } else if (error instanceof ValidationError) {
        fields.push(...error.fields.filter((f) => !fields.some((e) => e.path === f.path)));
      } else throw error;
    }
    if (!parsed.success || fields.length > 0 || !params) return { ok: false, fields };
    return { ok: true, input: { ...parsed.data, params } };
  }

  /** Submit one task. Throws `ValidationError` (field paths; an unknown type is one). */
  async submit(input: TaskInput): Promise<{ task: Task; created: boolean }> {
    const [outcome] = await this.submitMany([input]);
    if (!outcome!.ok) throw outcome!.error;
    return { task: outcome!.task, created: outcome!.created };
  }

  /**
   * Submit many tasks in a few round trips: one idempotency claim, one BullMQ bulk add per queue,
   * one projection per queue. A bad item is rejected with field errors; nothing of it is enqueued.
   */
  async submitMany(inputs: TaskInput[], options: SubmitOptions = {}): Promise<SubmitOutcome[]> {
    const now = Date.now();
    const outcomes: SubmitOutcome[] = new Array(inputs.length);
    const accepted: {
      index: number;
      id: string;
      queue: string;
      data: JobData;
      delay: number;
      type: string;
    }[] = [];
    inputs.forEach((raw, index) => {
      const checked = this.validate(raw);
      if (!checked.ok) {
        outcomes[index] = { ok: false, error: invalidTask(checked.fields) };
        return;
      }
      const parsed = { data: checked.input };
      try {
        const input = options.parent ? { ...parsed.data, parentId: options.parent.id } : parsed.data;
        const resolved = this.resolve(input, now);
        if (options.scheduleId) resolved.data.scheduleId = options.scheduleId;
        accepted.push({ index, type: input.type, ...resolved });
      } catch (error) {
        if (error instanceof ValidationError) {
          outcomes[index] = { ok: false, error };
        } else throw error;
      }
    });

    if (options.workflow) {
      if (accepted.length < inputs.length) return outcomes;
      this.linkWorkflow(options.workflow, accepted);
      // A grouped node cannot wait for other nodes (see groupConflicts): all or none.
      for (const a of accepted) {
        if (!a.data.group || !a.data.dependsOn?.length) continue;
        const message = 'not with dependsOn: a grouped task runs at its group’s turn';
        outcomes[a.index] = {
          ok: false,
          error: new ValidationError(`a grouped task cannot also have dependencies`, [
            { path: 'group', message },
          ]),
        };
      }
      if (accepted.some((a) => outcomes[a.index])) return outcomes;
    } else await this.checkDependencies(accepted, outcomes);
    if (accepted.some((a) => outcomes[a.index])) {
      for (let i = accepted.length - 1; i >= 0; i--) if (outcomes[accepted[i]!.index]) accepted.splice(i, 1);
    }

    // Idempotency: claim each key for this item's new id, or learn the id that holds it. A held key
    // is answered by its task's record; when there is none yet (its submitter is still adding it,
    // or died after claiming), this call adds the job under the holder's id itself: BullMQ keeps one
    // job per id, so however many calls race, and whichever of them dies, one task exists.
    const keyed = accepted.filter((a) => a.data.idempotencyKey);
    const known = new Map<number, Task>();
    const submission = keyed.length ? randomBytes(8).toString('hex') : '';
    for (const a of keyed) a.data.submission = submission;
    if (keyed.length) {
      const holders = await this.redis.tpClaimIdempotency(
        keyed.length,
        ...keyed.map((a) => this.keys.idempotency(a.data.idempotencyKey!)),
        ...keyed.map((a) => a.id),
        Math.max(1, Math.round(this.config.retention.idempotency_window / 1000)),
      );
      keyed.forEach((a, i) => {
        a.id = holders[i]!;
      });
      await this.hooks.afterIdempotencyClaim?.();
      const records = await this.store.getMany(keyed.map((a) => a.id));
      keyed.forEach((a, i) => {
        if (records[i]) known.set(a.index, records[i]!);
      });
    }
    const adding = new Set<string>();
    const fresh = accepted.filter((a) => {
      if (known.has(a.index) || adding.has(a.id)) return false;
      adding.add(a.id);
      return true;
    });
    const added = new Set(fresh.map((a) => a.index));

    // LIFO tasks take a sequence number per queue and priority (see bull-priority.ts).
    const lifoSeq = new Map<number, number>();
    const lifo = fresh.filter((a) => a.data.order === 'lifo');
    if (lifo.length) {
      const sequences = await Promise.all(
        inOneWrite(this.redis, () =>
          lifo.map((a) => this.redis.incr(this.keys.lifoSequence(a.queue, a.data.priority))),
        ),
      );
      lifo.forEach((a, i) => {
        lifoSeq.set(a.index, sequences[i]!);
      });
    }

    await this.ensureGroupLimits(fresh);
    const byQueue = new Map<string, typeof fresh>();
    for (const a of fresh) {
      const items = byQueue.get(a.queue);
      if (items) items.push(a);
      else byQueue.set(a.queue, [a]);
    }
    if (options.workflow) await this.addWorkflowJobs(fresh, now, lifoSeq);
    else
      await Promise.all(
        [...byQueue].map(async ([queue, items]) => {
          const jobs = items.map((a) => ({
            name: a.type,
            data: a.data,
            opts: {
              ...this.jobOptions(a.id, a.data, a.delay, lifoSeq.get(a.index) ?? 0, now),
              ...(options.parent
                ? {
                    parent: {
                      id: options.parent.id,
                      queue: this.keys.bullQueue(options.parent.queue),
                    },
                    ...childFailureOptions(options.parent.onChildFailure ?? 'continue'),
                  }
                : {}),
            },
          }));
          await this.addAndProject(queue, jobs);
        }),
      );

    await this.preemptFor(fresh);

    // The projection above wrote these records from the same job data: no need to read them back,
    // except for keyed items, whose job may have been added by a racing call with its own data: the
    // record's `submission` says which call's add BullMQ kept.
    // Tasks with dependencies may have been released or cancelled by their projection: read those.
    const keyedIds = [
      ...keyed.filter((a) => !known.has(a.index)).map((a) => a.id),
      ...(options.workflow
        ? []
        : fresh.filter((a) => a.data.dependsOn && !a.data.idempotencyKey).map((a) => a.id)),
    ];
    const stored = new Map<string, { task: Task; submission: string | null }>();
    if (keyedIds.length) {
      const [tasks, submissions] = await Promise.all([
        this.store.getMany(keyedIds),
        Promise.all(
          inOneWrite(this.redis, () =>
            keyedIds.map((id) => this.redis.hget(this.keys.task(id), 'submission')),
          ),
        ),
      ]);
      tasks.forEach((task, i) => {
        if (task) stored.set(task.id, { task, submission: submissions[i] ?? null });
      });
    }
    for (const a of accepted) {
      if (outcomes[a.index]) continue;
      const found = known.get(a.index);
      const record = stored.get(a.id);
      outcomes[a.index] = found
        ? { ok: true, task: found, created: false }
        : record
          ? { ok: true, task: record.task, created: added.has(a.index) && record.submission === submission }
          : { ok: true, task: submittedTask(a.id, a.type, a.queue, a.data, now, a.delay), created: true };
    }
    return outcomes;
  }

  /**
   * Queue preemption (off unless a queue's settings have `preemption`): for each task just made
   * pending at or above its queue's threshold, most urgent first, preempt.lua picks a running task
   * below it on a full queue and marks it (one call for the batch), and its worker is told to hand
   * it back through the control stream, as cancels are. Detected here rather than by workers: the submitter is the one
   * process that knows an urgent task has arrived, at once and without polling, while a worker sees
   * only its own slots, not whether the queue as a whole is full. Best effort: a submit never
   * fails because a preemption could not be made, the task then waits its turn.
   *
   * Cost per submit call: a settings read per queue at most once a second; the rest only when a
   * task qualifies.
   */
  private async preemptFor(
    items: { id: string; queue: string; data: JobData; delay: number }[],
  ): Promise<void> {
    const byQueue = new Map<string, typeof items>();
    for (const a of items) {
      // A grouped task's parking is no delay: an urgent one skips its group's turn (groups.lua).
      if ((a.delay > 0 && !a.data.group) || a.data.dependsOn?.length) continue;
      const list = byQueue.get(a.queue);
      if (list) list.push(a);
      else byQueue.set(a.queue, [a]);
    }
    for (const [queue, candidates] of byQueue) {
      try {
        const settings = await this.submitSettings(queue);
        if (!settings.preemption) continue;
        const { below } = settings.preemption;
        const urgent = candidates
          .filter((a) => a.data.priority >= below)
          .sort((a, b) => b.data.priority - a.data.priority);
        if (urgent.length === 0) continue;
        const slots = await this.slots(queue, settings);
        // The running tasks' starts must be on their records before one is chosen (preempt.lua).
        await this.project(queue);
        const chosen = await this.redis.tpPreempt(
          this.keys.events,
          this.keys.preemptGrants(queue),
          ...recordArgs(this.keys, this.config.events.stream_max_len),
          this.keys.bullKeyPrefix,
          queue,
          below,
          slots,
          // No call can take more slots than the queue has.
          ...urgent.slice(0, slots).map((a) => a.id),
        );
        for (let i = 0; i + 1 < chosen.length; i += 2) {
          const [taskId, by] = [chosen[i]!, chosen[i + 1]!];
          await publishControl(this.redis, this.keys, { kind: ControlKind.Preempt, taskId, by });
          this.logger.info({ queue, taskId, by }, 'preempting a running task');
        }
      } catch (error) {
        this.logger.warn({ err: error, queue }, 'preemption failed; the task waits its turn');
      }
    }
  }

  /** A queue's settings, read at most once per `SETTINGS_FRESH_MS` (a change here applies at once). */
  private async submitSettings(queue: string): Promise<QueueSettings> {
    const now = Date.now();
    const recent = this.recentSettings.get(queue);
    if (recent && recent.until > now) return recent.settings;
    const settings = await readQueueSettings(this.redis, this.keys, this.config, queue);
    this.recentSettings.set(queue, { settings, until: now + SETTINGS_FRESH_MS });
    return settings;
  }

  /** How many tasks of a queue can run at once now: its workers' concurrency, capped by the global cap. */
  private async slots(queue: string, settings: QueueSettings): Promise<number> {
    const workers = await listWorkers(this.redis, this.keys);
    const total = workers.reduce(
      (sum, w) => sum + (w.queues.includes(queue) ? (w.concurrency[queue] ?? 0) : 0),
      0,
    );
    return settings.globalConcurrency ? Math.min(total, settings.globalConcurrency) : total;
  }

  /**
   * Dependencies must name existing tasks: an item naming an unknown id is refused with the path
   * `dependsOn.N`. (A task that exists now and is deleted before its dependent is recorded can only
   * have finished: the projection then counts it as met.)
   */
  private async checkDependencies(
    accepted: { index: number; data: JobData }[],
    outcomes: SubmitOutcome[],
  ): Promise<void> {
    const ids = [...new Set(accepted.flatMap((a) => a.data.dependsOn ?? []))];
    if (ids.length === 0) return;
    const found = await Promise.all(
      inOneWrite(this.redis, () => ids.map((id) => this.redis.exists(this.keys.task(id)))),
    );
    const missing = new Set(ids.filter((_, i) => found[i] !== 1));
    if (missing.size === 0) return;
    for (const a of accepted) {
      const fields: FieldError[] = (a.data.dependsOn ?? []).flatMap((id, n) =>
        missing.has(id) ? [{ path: `dependsOn.${n}`, message: `no task with id ${id}` }] : [],
      );
      if (fields.length > 0)
        outcomes[a.index] = {
          ok: false,
          error: new ValidationError(
            `invalid task: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
            fields,
          ),
        };
    }
  }

  /** Give each node its workflow and its dependencies as task ids (inputs are aligned with nodes). */
  private linkWorkflow(
    workflow: WorkflowSubmission,
    accepted: { index: number; id: string; data: JobData; delay: number }[],
  ): void {
    const ids = new Map(workflow.nodes.map((node, i) => [node.key, accepted[i]!.id]));
    for (const a of accepted) {
      const node = workflow.nodes[a.index]!;
      a.data.workflowId = workflow.id;
      a.data.workflowName = workflow.name;
      a.data.workflowSize = workflow.nodes.length;
      a.data.nodeKey = node.key;
      const deps = [...new Set(node.dependsOn)].map((key) => ids.get(key)!);
      if (deps.length > 0) {
        a.data.dependsOn = deps;
        a.delay = PARK_DELAY_MS;
      }
    }
  }

  /**
   * Add a workflow's jobs in one BullMQ transaction across their queues (a FlowProducer bulk add
   * of childless flows): all of them or none. Then each queue's projection records them, and the
   * workflow with its first node.
   */
  private async addWorkflowJobs(
    items: { index: number; id: string; queue: string; data: JobData; delay: number; type: string }[],
    now: number,
    lifoSeq: Map<number, number>,
  ): Promise<void> {
    const producer = new FlowProducer({ connection: this.redis, prefix: this.keys.bullPrefix });
    producer.on('error', (error) => this.logger.error({ err: error }, 'flow producer error'));
    try {
      await producer.addBulk(
        items.map((a) => ({
          name: a.type,
          queueName: a.queue,
          data: a.data,
          opts: this.jobOptions(a.id, a.data, a.delay, lifoSeq.get(a.index) ?? 0, now),
        })),
      );
    } finally {
      await producer.close();
    }
    await Promise.all([...new Set(items.map((a) => a.queue))].map((queue) => this.project(queue)));
  }

  /**
   * Cancel a task: a waiting one is removed from its queue; a running one is aborted through its
   * handler's signal on whichever worker runs it. Either way it is marked cancelled and not retried.
   */
  async cancel(id: string, reason = 'cancelled by operator'): Promise<Task> {
    const [outcome, previous] = await this.redis.tpCancel(
      this.keys.events,
      ...recordArgs(this.keys, this.config.events.stream_max_len),
      id,
      Date.now(),
      reason,
      this.keys.idempotencyPrefix,
      Math.round(this.config.retention.idempotency_window / 1000),
      this.keys.bullKeyPrefix,
    );
    if (outcome === 'missing') throw new NotFoundError(`no task with id ${id}`);
    if (outcome === 'refused')
      throw new ConflictError(`task ${id} is ${previous}; only unfinished tasks can be cancelled`);
    const task = await this.store.getOrThrow(id);
    let removed = 0;
    if (previous !== 'running') removed = await this.queue(task.queue).remove(id);
    if (removed !== 1)
      await publishControl(this.redis, this.keys, { kind: ControlKind.Cancel, taskId: id, reason });
    return task;
  }

  /**
   * Run a finished (failed, dead-lettered or cancelled) task again under the same id. With `from`,
   * only a task in one of those statuses. Throws `NotFoundError` or `ConflictError`.
   */
  async retry(id: string, options: { from?: TaskStatus[] } = {}): Promise<Task> {
    const [outcome] = await this.requeue([id], options);
    if (outcome) throw outcome;
    return await this.store.getOrThrow(id);
  }

  /**
   * Run finished tasks again under their own ids: BullMQ's finished copy of each job is removed and
   * a new job added (removal refuses a job a worker holds), then the projection records the
   * requeue. Nothing is written to the record before BullMQ has the new job, so a crash anywhere
   * leaves either the finished task or the requeued one, never a pending record without a job; and
   * the delete script refuses a task whose job is alive, so a purge racing this deletes nothing
   * that is about to run. Per id: null when requeued, or the error saying why not.
   */
  async requeue(ids: string[], options: { from?: TaskStatus[] } = {}): Promise<(TaskplaneError | null)[]> {
    const records = await this.store.getMany(ids);
    const outcomes: (TaskplaneError | null)[] = ids.map(() => null);
    const ready: { task: Task; index: number }[] = [];
    records.forEach((task, index) => {
      if (!task) outcomes[index] = new NotFoundError(`no task with id ${ids[index]}`);
      else if (
        !isFinal(task.status) ||
        !canTransition(task.status, 'pending') ||
        (options.from && !options.from.includes(task.status))
      )
        outcomes[index] = new ConflictError(
          `task ${task.id} is ${task.status}; only ${options.from?.join(', ') ?? 'failed, dead-lettered or cancelled'} tasks can be requeued`,
        );
      else ready.push({ task, index });
    });
    const removed = await Promise.all(ready.map(({ task }) => this.queue(task.queue).remove(task.id)));
    const byQueue = new Map<string, { name: string; data: JobData; opts: JobsOptions }[]>();
    ready.forEach(({ task, index }, i) => {
      // BullMQ refuses (0) to remove a job a worker holds; a job that is gone already counts as removed.
      if (removed[i] === 0) {
        outcomes[index] = new ConflictError(`task ${task.id} is still running on a worker`);
        return;
      }
      const data: JobData = {
        params: task.params,
        labels: task.labels,
        priority: task.priority,
        order: task.order,
        maxAttempts: task.maxAttempts,
        timeoutMs: task.timeoutMs,
        backoff: task.backoff,
        ...(task.idempotencyKey ? { idempotencyKey: task.idempotencyKey } : {}),
        ...(task.parentId ? { parentId: task.parentId } : {}),
        ...(task.scheduleId ? { scheduleId: task.scheduleId } : {}),
        ...(task.workflowId ? { workflowId: task.workflowId } : {}),
        ...(task.onChildFailure !== 'continue' ? { onChildFailure: task.onChildFailure } : {}),
        ...(task.group ? { group: task.group } : {}),
      };
      const jobs = byQueue.get(task.queue) ?? [];
      // A grouped task goes back to its group's lane: parked again (the projection re-lanes it).
      const delay = task.group ? PARK_DELAY_MS : 0;
      jobs.push({ name: task.type, data, opts: this.jobOptions(task.id, data, delay, 0) });
      byQueue.set(task.queue, jobs);
    });
    await Promise.all(
      [...byQueue].map(async ([queue, jobs]) => {
        await this.queue(queue).addBulk(jobs);
        await this.project(queue);
      }),
    );
    return outcomes;
  }

  /**
   * Delete finished tasks: records, logs, index entries, idempotency keys and BullMQ's finished
   * jobs, with a `deleted` event each, in one script call (`scripts/delete.lua`). A task that is
   * not finished, not in one of `statuses`, finished at or after `finishedBefore`, or whose BullMQ
   * job is alive again (requeued meanwhile) is refused and left as it is.
   */
  async deleteTasks(ids: string[], options: DeleteOptions = {}): Promise<DeleteOutcome[]> {
    if (ids.length === 0) return [];
    const replies = await this.redis.tpDelete(
      this.keys.events,
      ...recordArgs(this.keys, this.config.events.stream_max_len),
      this.keys.bullKeyPrefix,
      this.keys.idempotencyPrefix,
      Date.now(),
      (options.statuses ?? []).join(','),
      options.finishedBefore ?? '',
      ...ids,
    );
    return replies.map((r) => (r === 1 ? 'deleted' : r === 0 ? 'missing' : 'refused'));
  }

  async queueSettings(queue: string): Promise<QueueSettings> {
    this.assertQueue(queue);
    return await readQueueSettings(this.redis, this.keys, this.config, queue);
  }

  /** Change a queue's concurrency, rate limit or global cap on every worker process, without restarts. */
  async updateQueueSettings(queue: string, change: QueueSettingsChange): Promise<QueueSettings> {
    this.assertQueue(queue);
    validateSettings(this.config, change);
    await writeQueueSettings(this.redis, this.keys, queue, change);
    this.recentSettings.delete(queue);
    const settings = await this.queueSettings(queue);
    await this.applyLimits(queue, settings);
    await publishControl(this.redis, this.keys, { kind: ControlKind.Settings, queue });
    return settings;
  }

  /**
   * Hand a queue's cross-process limits to BullMQ, which enforces them for every worker: the rate
   * limit and the global concurrency cap (concurrency per process is each worker's own); and its
   * group limits to the group dispatcher, which then dispatches under them.
   */
  async applyLimits(queue: string, settings: QueueSettings): Promise<void> {
    const q = this.queue(queue);
    if (settings.rateLimit) await q.setGlobalRateLimit(settings.rateLimit.max, settings.rateLimit.durationMs);
    else await q.removeGlobalRateLimit();
    if (settings.globalConcurrency) await q.setGlobalConcurrency(settings.globalConcurrency);
    else await q.removeGlobalConcurrency();
    await writeGroupLimits(this.redis, this.keys, queue, settings);
    this.groupLimitsWritten.add(queue);
    await this.wakeGroups(queue);
  }

  /**
   * Dispatch a queue's grouped tasks under its limits as they are now: groups that left the ring at
   * their old limits rejoin it (groups-wake.lua), a page of groups per call.
   */
  private async wakeGroups(queue: string): Promise<void> {
    let cursor = '0';
    do {
      cursor = await groupsWake(this.redis, this.keys, this.config.events.stream_max_len, queue, cursor);
    } while (cursor !== '0');
  }

  /**
   * Before a process's first grouped submit to a queue, hand the queue's group limits to the
   * dispatcher, in case no worker has yet (the first projection of the submit dispatches). Once
   * per queue per process; ungrouped submits never pay for it.
   */
  private async ensureGroupLimits(items: { queue: string; data: JobData }[]): Promise<void> {
    const queues = new Set(
      items.filter((a) => a.data.group && !this.groupLimitsWritten.has(a.queue)).map((a) => a.queue),
    );
    for (const queue of queues) {
      await writeGroupLimits(this.redis, this.keys, queue, await this.submitSettings(queue));
      this.groupLimitsWritten.add(queue);
    }
  }

  /** A page of a queue's fair groups with their counts (see `listGroups`). */
  async groups(queue: string, first: number, after: string | null = null): Promise<GroupPage> {
    this.assertQueue(queue);
    return await listGroups(this.redis, this.keys, queue, first, after);
  }

  /**
   * Tasks in a queue by state, as BullMQ counts them now, except dead letters: BullMQ's failed set
   * also holds tasks cancelled while they ran, so those are counted from Taskplane's own indexes
   * (the dead-lettered index intersected with the queue's, in Redis).
   */
  async counts(queue: string): Promise<QueueCounts> {
    const [c, deadLettered] = await Promise.all([
      this.queue(queue).getJobCounts(
        'waiting',
        'prioritized',
        'active',
        'delayed',
        'completed',
        'waiting-children',
      ),
      this.redis.zintercard(2, this.keys.indexStatus('dead_lettered'), this.keys.indexQueue(queue)),
    ]);
    return {
      pending: (c.waiting ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      running: c.active ?? 0,
      blocked: c['waiting-children'] ?? 0,
      deadLettered,
      succeeded: c.completed ?? 0,
    };
  }

  async pause(queue: string): Promise<void> {
    this.assertQueue(queue);
    await this.queue(queue).pause();
  }

  async resume(queue: string): Promise<void> {
    this.assertQueue(queue);
    await this.queue(queue).resume();
  }

  private assertQueue(queue: string): void {
    if (!this.queueNames().includes(queue)) throw new NotFoundError(`no queue named ${queue}`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
