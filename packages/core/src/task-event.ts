import { z } from 'zod';
import { TaskStatus } from './task-status';

/**
 * What happened to a task. Wire-level: the event log stores these strings, every process and
 * client compares against this map.
 */
export const TaskEventKind = {
  Submitted: 'submitted',
  Ready: 'ready',
  Blocked: 'blocked',
  Started: 'started',
  Progress: 'progress',
  Log: 'log',
  Retrying: 'retrying',
  Stalled: 'stalled',
  Requeued: 'requeued',
  /**
   * Queue preemption, told on both tasks at the moment the running one was handed back: on the
   * preempted task `{ attempt, by }`, on the task that took its slot `{ preempted }`.
   */
  Preempted: 'preempted',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Cancelled: 'cancelled',
  DeadLettered: 'dead_lettered',
  /** The record was deleted (clean, purge, retention): the task is gone from lists. */
  Deleted: 'deleted',
} as const;
export type TaskEventKind = (typeof TaskEventKind)[keyof typeof TaskEventKind];

/** Kinds after which a task does not move again on its own: exactly one per task run to its end. */
export const TERMINAL_EVENT_KINDS: ReadonlySet<TaskEventKind> = new Set([
  TaskEventKind.Succeeded,
  TaskEventKind.Cancelled,
  TaskEventKind.DeadLettered,
]);

/** One entry of the event log. `cursor` only grows; resume "after" it to miss nothing. */
export const TaskEvent = z.object({
  cursor: z.string(),
  kind: z.enum(Object.values(TaskEventKind) as [TaskEventKind, ...TaskEventKind[]]),
  taskId: z.string(),
  queue: z.string(),
  type: z.string(),
  /** The task's status after this event. */
  status: TaskStatus,
  /** Epoch milliseconds. */
  at: z.number(),
  labels: z.record(z.string(), z.string()),
  /** Kind-specific detail: `{ progress }`, `{ line }`, `{ error, attempt }`, `{ attempt, workerId }`. */
  data: z.record(z.string(), z.unknown()),
  /** The schedule that submitted the task, or null. */
  scheduleId: z.string().nullable(),
  /** The workflow the task is a node of, or null. */
  workflowId: z.string().nullable(),
});
export type TaskEvent = z.infer<typeof TaskEvent>;
