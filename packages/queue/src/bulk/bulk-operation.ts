import type { TaskFilter } from '@taskplane/core';

/** Wire-level kinds and states of bulk operations. */
export const BulkKind = {
  CancelTasks: 'cancel_tasks',
  RequeueDeadLetters: 'requeue_dead_letters',
  PurgeDeadLetters: 'purge_dead_letters',
  CleanQueue: 'clean_queue',
} as const;
export type BulkKind = (typeof BulkKind)[keyof typeof BulkKind];

export const BulkState = {
  Running: 'running',
  Done: 'done',
  Cancelled: 'cancelled',
  Failed: 'failed',
} as const;
export type BulkState = (typeof BulkState)[keyof typeof BulkState];

/**
 * An operation over every task matching a filter, stored in Redis as it goes: the walk's cursor,
 * the batch at hand and the counters are saved after every batch, so any process can report it and
 * a restarted one resumes it where it stood (see `BulkRunner`).
 */
export interface BulkOperation {
  id: string;
  kind: BulkKind;
  state: BulkState;
  /** The tasks it applies to; for a clean, `finishedBefore` narrows it further. */
  filter: TaskFilter;
  /** How many tasks matched when it started; a lower bound when `totalExact` is false. */
  total: number;
  totalExact: boolean;
  /** Tasks looked at so far. */
  processed: number;
  /** Tasks it changed. */
  succeeded: number;
  /** Tasks that no longer matched when their turn came (changed by someone else meanwhile). */
  skipped: number;
  failed: number;
  /** The first few failures, with why. */
  errors: { taskId: string; message: string }[];
  startedAt: number;
  finishedAt: number | null;
  /** Grows with every save: a watcher keeps the newest state it saw. */
  version: number;
  /** Where the walk resumes: the list cursor after the last batch done (null: from the start). */
  cursor: string | null;
  /** The cursor after the batch at hand, saved with it. */
  nextCursor: string | null;
  /** The batch at hand: redone, not re-listed, after a crash. Empty between batches. */
  batch: string[];
}

/** What an operation shows of itself to clients (its walking state stays inside). */
export type BulkOperationView = Omit<BulkOperation, 'cursor' | 'nextCursor' | 'batch' | 'version'>;
