import { z } from 'zod';

/**
 * Every state a task can be in. `pending`, `running`, `retrying`, `success`, `failed` and
 * `cancelled` are the lifecycle users talk about; `delayed`, `blocked` and `dead_lettered` are the
 * ones the engine needs to say where a task really stands.
 */
export const TaskStatus = z.enum([
  'pending',
  'delayed',
  'blocked',
  'running',
  'retrying',
  'success',
  'failed',
  'cancelled',
  'dead_lettered',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TASK_STATUSES = TaskStatus.options;

/** Statuses from which a task never moves again on its own. */
export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'success',
  'failed',
  'cancelled',
  'dead_lettered',
]);

/**
 * The one table of legal moves. The engine's scripts and the record projection consult it; a move
 * that is not listed here is a bug or a race and is refused.
 */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  // pending -> failed: BullMQ fails a job that stalled more often than allowed when it next moves.
  pending: ['running', 'delayed', 'cancelled', 'blocked', 'failed'],
  delayed: ['pending', 'running', 'cancelled'],
  blocked: ['pending', 'cancelled', 'failed', 'dead_lettered'],
  // running -> pending: a stalled attempt handed back (worker died or shut down).
  // running -> blocked: the handler fanned out and the task waits for its children.
  running: ['success', 'retrying', 'failed', 'cancelled', 'pending', 'dead_lettered', 'blocked'],
  retrying: ['pending', 'running', 'cancelled'],
  success: [],
  // A failed task is dead-lettered, or retried by hand.
  failed: ['dead_lettered', 'pending'],
  dead_lettered: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isFinal(status: TaskStatus): boolean {
  return FINAL_STATUSES.has(status);
}
