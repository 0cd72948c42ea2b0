import type { Backoff, Task, TaskAttempt, TaskOrder, TaskStatus } from '@taskplane/core';

function json<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function num(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** An attempt as the scripts store it (see `encodeAttempts` in scripts/common.lua). */
type StoredAttempt =
  | [number, number, number?, string?, string?, (TaskAttempt['error'] | 0)?, string?]
  | Partial<TaskAttempt>;

/**
 * One attempt as stored: `[attempt, startedAt, finishedAt|0, workerId|'', flags, error|0,
 * preemptedBy|'']` with trailing defaults dropped, or (records written before that encoding) an
 * object.
 */
function parseAttempt(stored: unknown): TaskAttempt {
  const value = stored as StoredAttempt;
  if (!Array.isArray(value)) {
    return {
      attempt: value.attempt ?? 0,
      startedAt: value.startedAt ?? null,
      finishedAt: value.finishedAt ?? null,
      workerId: value.workerId ?? null,
      error: value.error ?? null,
      stalled: value.stalled === true,
      preempted: value.preempted === true,
      preemptedBy: value.preemptedBy ?? null,
      handedBack: value.handedBack === true,
    };
  }
  const [attempt, startedAt, finishedAt, workerId, flags = '', error, preemptedBy] = value;
  return {
    attempt,
    startedAt: startedAt || null,
    finishedAt: finishedAt || null,
    workerId: workerId || null,
    error: error || null,
    stalled: flags.includes('s'),
    preempted: flags.includes('p'),
    preemptedBy: preemptedBy || null,
    handedBack: flags.includes('h'),
  };
}

/**
 * Attempts made in the current run: those from `runStart` on (a task run again by hand starts
 * counting anew), less the preempted and handed-back ones, which use up no attempt. The scripts do
 * not store the count (records written before that stored `attemptsMade`, always equal to this):
 * one field write less on every start and finish.
 */
function attemptsMade(attempts: TaskAttempt[], runStart: number): number {
  let made = 0;
  for (let i = runStart; i < attempts.length; i++) {
    if (!attempts[i]!.preempted && !attempts[i]!.handedBack) made++;
  }
  return made;
}

/** A task record as the scripts store it (a Redis hash of strings) turned into a `Task`. */
export function parseTaskRecord(hash: Record<string, string>): Task | null {
  if (!hash.id) return null;
  const attempts = json<unknown[]>(hash.attempts, []).map(parseAttempt);
  const status = hash.status as TaskStatus;
  const runStart = num(hash.runStart) ?? 0;
  return {
    id: hash.id,
    type: hash.type ?? '',
    queue: hash.queue ?? '',
    status,
    priority: num(hash.priority) ?? 5,
    order: (hash.order as TaskOrder) ?? 'fifo',
    params: json(hash.params, {}),
    labels: json(hash.labels, {}),
    idempotencyKey: hash.idempotencyKey || null,
    createdAt: num(hash.createdAt) ?? 0,
    updatedAt: num(hash.updatedAt) ?? 0,
    // The current run's first start (records written before it was derived also stored it).
    startedAt: attempts[runStart]?.startedAt ?? null,
    finishedAt: num(hash.finishedAt),
    runAt: num(hash.runAt),
    attemptsMade: attemptsMade(attempts, runStart),
    maxAttempts: num(hash.maxAttempts) ?? 1,
    timeoutMs: num(hash.timeoutMs) ?? 300_000,
    backoff: json<Backoff>(hash.backoff, { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0 }),
    attempts,
    result: hash.result ? json<unknown>(hash.result, null) : null,
    // The scripts do not write a success's progress (see attemptsMade): it reads as 100.
    progress: status === 'success' ? 100 : (num(hash.progress) ?? 0),
    parentId: hash.parentId || null,
    dependsOn: json(hash.dependsOn, []),
    onDependencyFailure: hash.onDepFail === 'run_anyway' ? 'run_anyway' : 'cancel',
    onChildFailure:
      hash.onChildFail === 'fail_parent' || hash.onChildFail === 'ignore' ? hash.onChildFail : 'continue',
    scheduleId: hash.scheduleId || null,
    workflowId: hash.workflowId || null,
    group: hash.group || null,
  };
}
