import { z } from 'zod';
import { ErrorCode, type FieldError } from './errors';
import { TaskStatus } from './task-status';

export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 10;
export const PRIORITY_DEFAULT = 5;

/** 1-10, 10 runs first. */
export const Priority = z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX);
export type Priority = z.infer<typeof Priority>;

/** Order within one priority: first in first out (default) or last in first out. */
export const TaskOrder = z.enum(['fifo', 'lifo']);
export type TaskOrder = z.infer<typeof TaskOrder>;

/** `shop=abc`: small string pairs used to find tasks. */
export const LabelKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.\-/]+$/, 'label keys use letters, digits and _ . - /');
/** Most labels one task carries: each is an index entry (a Redis key) of its own. */
export const MAX_LABELS = 20;
/** Longest label value, in characters. */
export const MAX_LABEL_VALUE = 256;
/** C0 and C1 control characters (ANSI escapes among them): labels are printed to terminals. */
const CONTROL_CHARACTERS = /\p{Cc}/u;
export const LabelValue = z
  .string()
  .max(MAX_LABEL_VALUE)
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');
export const Labels = z
  .record(LabelKey, LabelValue)
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);
export type Labels = z.infer<typeof Labels>;

export const Backoff = z.strictObject({
  /** Delay before the first retry, in milliseconds. */
  baseDelayMs: z.number().int().min(0),
  /** No retry waits longer than this, in milliseconds. */
  maxDelayMs: z.number().int().min(0),
  /** Fraction of the delay that is randomised (0 = exact, 0.2 = +-20%). */
  jitter: z.number().min(0).max(1),
});
export type Backoff = z.infer<typeof Backoff>;

export const AttemptError = z.object({
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retryable: z.boolean(),
});
export type AttemptError = z.infer<typeof AttemptError>;

/**
 * What a task does when one of its dependencies fails, is dead-lettered or is cancelled:
 * `cancel` it (and, in turn, its own dependents that cancel), or `run_anyway` once every
 * dependency has finished one way or another.
 */
export const DependencyPolicy = z.enum(['cancel', 'run_anyway']);
export type DependencyPolicy = z.infer<typeof DependencyPolicy>;

/**
 * What a fan-out child that failed for good (dead-lettered, or cancelled while it ran) does to its
 * parent: `fail_parent` fails the parent at once (it does not run again); `continue` runs the parent
 * again once every child has finished, with the failure among its children's outcomes; `ignore`
 * does the same but leaves failed children out of the outcomes.
 */
export const ChildFailurePolicy = z.enum(['fail_parent', 'continue', 'ignore']);
export type ChildFailurePolicy = z.infer<typeof ChildFailurePolicy>;

/**
 * A fair group's name (`shop_42`): tasks of one group take turns with other groups' and share the
 * group's limits (see `GroupsConfig`). Part of Redis key names, so short and plain.
 */
export const GroupName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9_.-]+$/, 'group names use letters, digits and _ . -');
export type GroupName = z.infer<typeof GroupName>;

/** Most dependencies one task may name: each is a set member on both sides. */
export const MAX_DEPENDENCIES = 1000;

/** One run of a task's handler. */
export const TaskAttempt = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** The worker process that ran it. */
  workerId: z.string().nullable(),
  error: AttemptError.nullable(),
  /** The worker running it died or lost its lock; the attempt was handed to another worker. */
  stalled: z.boolean(),
  /**
   * A more urgent task took its slot (queue preemption): it was handed back to the queue and did
   * not count against the task's attempts.
   */
  preempted: z.boolean(),
  /** The task that preempted it, when `preempted`. */
  preemptedBy: z.string().nullable(),
  /**
   * Its worker stopped (graceful shutdown) and handed it back to the queue before it finished: it
   * did not count against the task's attempts, as BullMQ does not count it either.
   */
  handedBack: z.boolean(),
});
export type TaskAttempt = z.infer<typeof TaskAttempt>;

/** The control plane's record of one task. `id` is also the BullMQ job id. */
export const Task = z.object({
  id: z.string(),
  type: z.string(),
  queue: z.string(),
  status: TaskStatus,
  priority: Priority,
  order: TaskOrder,
  params: z.record(z.string(), z.unknown()),
  labels: Labels,
  idempotencyKey: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** When a delayed task becomes due (epoch ms). */
  runAt: z.number().nullable(),
  attemptsMade: z.number().int(),
  maxAttempts: z.number().int().min(1),
  timeoutMs: z.number().int().min(1),
  backoff: Backoff,
  attempts: z.array(TaskAttempt),
  result: z.unknown().nullable(),
  progress: z.number().min(0).max(100),
  parentId: z.string().nullable(),
  /** Tasks that must succeed before this one runs (it is `blocked` until then). */
  dependsOn: z.array(z.string()),
  /** What a failed, dead-lettered or cancelled dependency does to this task. */
  onDependencyFailure: DependencyPolicy,
  /** What a failed fan-out child does to this task, unless its fan-out says otherwise. */
  onChildFailure: ChildFailurePolicy,
  scheduleId: z.string().nullable(),
  /** The workflow this task is a node of, or null. */
  workflowId: z.string().nullable(),
  /** The fair group the task belongs to, or null. */
  group: z.string().nullable(),
});
export type Task = z.infer<typeof Task>;

/** The error of the newest attempt that failed, or null. */
export function lastAttemptError(task: Pick<Task, 'attempts'>): AttemptError | null {
  for (let i = task.attempts.length - 1; i >= 0; i--) {
    const error = task.attempts[i]?.error;
    if (error) return error;
  }
  return null;
}

/** What a caller asks for when submitting a task. Everything but `type` and `params` is optional. */
export const TaskInput = z.strictObject({
  type: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  priority: Priority.optional(),
  order: TaskOrder.optional(),
  /** Wait this long before the task becomes runnable, in milliseconds. */
  delayMs: z.number().int().min(0).optional(),
  /** Run at this time (epoch milliseconds); overrides `delayMs`. */
  runAt: z.number().int().min(0).optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  timeoutMs: z.number().int().min(1).optional(),
  backoff: Backoff.partial().optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
  labels: Labels.optional(),
  /** Put the task on another queue than its type's default. */
  queue: z.string().min(1).optional(),
  parentId: z.string().optional(),
  /** Ids of tasks that must succeed first; the task is `blocked` until they have. */
  dependsOn: z.array(z.string().min(1).max(200)).max(MAX_DEPENDENCIES).optional(),
  /** What a failed or cancelled dependency does to this task (default `cancel`). */
  onDependencyFailure: DependencyPolicy.optional(),
  /**
   * When this task fans out: what a failed child does to it (default `continue`). A handler's
   * `ctx.fanOut(children, { onChildFailure })` overrides it for that fan-out.
   */
  onChildFailure: ChildFailurePolicy.optional(),
  /**
   * A fair group (e.g. a shop id): the task takes turns with other groups' tasks of its queue and
   * counts against the group's limits. Not with a delay, dependencies or a parent.
   */
  group: GroupName.optional(),
});
export type TaskInput = z.input<typeof TaskInput>;
export type ParsedTaskInput = z.output<typeof TaskInput>;

/** A filter over task records, shared by lists, subscriptions and bulk operations. */
/** A name a filter compares with (a type or queue name): bounded, as every input is. */
const FilterName = z.string().min(1).max(200);

export const TaskFilter = z.strictObject({
  status: z.array(TaskStatus).max(20).optional(),
  type: z.array(FilterName).max(100).optional(),
  queue: z.array(FilterName).max(100).optional(),
  labels: Labels.optional(),
  /** Created at or after (epoch ms). */
  createdAfter: z.number().optional(),
  /** Created before (epoch ms). */
  createdBefore: z.number().optional(),
  /** Case-insensitive text in the last error message. */
  errorText: z.string().max(1000).optional(),
  /** Finished before (epoch ms); unfinished tasks never match. */
  finishedBefore: z.number().optional(),
  /** Submitted by this schedule (walks the schedule's own index). */
  scheduleId: FilterName.optional(),
  /** Of this fair group (walks the group's own index). */
  group: GroupName.optional(),
});
export type TaskFilter = z.infer<typeof TaskFilter>;

/** Bounds on a task's `params` (`api.max_params_depth`, `api.max_params_bytes`). */
export interface ParamsLimits {
  maxDepth: number;
  maxBytes: number;
}

/**
 * Field errors for `params` nested deeper or larger than `limits`, found without recursion: a
 * value nested 10,000 deep overflowed the stack of whatever walked it next. Empty when it fits.
 */
export function paramsLimitErrors(params: unknown, limits: ParamsLimits): FieldError[] {
  const stack: [unknown, number][] = [[params, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= limits.maxDepth) {
      return [{ path: 'params', message: `nested deeper than ${limits.maxDepth} levels` }];
    }
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(params) ?? '');
  if (bytes > limits.maxBytes) {
    return [{ path: 'params', message: `${bytes} bytes as JSON, more than ${limits.maxBytes}` }];
  }
  return [];
}
