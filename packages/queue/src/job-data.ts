import type { Backoff, ChildFailurePolicy, DependencyPolicy, TaskOrder } from '@taskplane/core';

/**
 * What a BullMQ job carries (`job.data`); the job's name is the task type. The projector builds the
 * task record from this when it sees the job's `added` event, so nothing else has to be written at
 * submit time for the task to exist.
 */
export interface JobData {
  params: Record<string, unknown>;
  labels: Record<string, string>;
  priority: number;
  order: TaskOrder;
  maxAttempts: number;
  timeoutMs: number;
  backoff: Backoff;
  idempotencyKey?: string;
  /** Which submit call added the job, for keyed tasks: tells racing submits whose add BullMQ kept. */
  submission?: string;
  parentId?: string;
  scheduleId?: string;
  /** Ids of tasks that must succeed first; the job is added parked (see `PARK_DELAY_MS`). */
  dependsOn?: string[];
  /** What a failed or cancelled dependency does to this task; `cancel` when absent. */
  onDependencyFailure?: DependencyPolicy;
  /** What a failed fan-out child does to this task; `continue` when absent. */
  onChildFailure?: ChildFailurePolicy;
  /**
   * Set by the runner when the task fans out, before it waits for its children: the run after it
   * is a resumption (even when no outcome is left to read), under this policy, with `count` children.
   */
  fannedOut?: { policy: ChildFailurePolicy; count: number };
  /** The workflow this task is a node of, with the workflow's name and size (the projection
   * records the workflow with its first node) and the node's key. */
  workflowId?: string;
  workflowName?: string;
  workflowSize?: number;
  nodeKey?: string;
  /** The task's fair group; the job is added parked and waits in the group's lane (scripts/groups.lua). */
  group?: string;
}

/** BullMQ's backoff type name for Taskplane's strategy (see `retryDelay`). */
export const BACKOFF_TYPE = 'taskplane';

/**
 * How the worker encodes a failed attempt for BullMQ: as JSON in the error message, so BullMQ's
 * own atomic writes (failedReason, stack trace list, `failed` event) carry the classified error and
 * the projector can record it without a separate write.
 */
export interface EncodedFailure {
  code: string;
  message: string;
  retryable: boolean;
  attempt: number;
}
