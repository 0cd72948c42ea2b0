import type { ResultOf } from './graphql/graphql';
import type { TaskDetailFields } from './graphql/tasks';

export type TaskDetail = ResultOf<typeof TaskDetailFields>;

export interface TimelineEntry {
  at: string;
  /** What happened, in a few words. */
  title: string;
  detail?: string;
  tone: 'neutral' | 'info' | 'ok' | 'warn' | 'bad';
}

const FINAL: Partial<Record<TaskDetail['status'], { title: string; tone: TimelineEntry['tone'] }>> = {
  SUCCESS: { title: 'Succeeded', tone: 'ok' },
  CANCELLED: { title: 'Cancelled', tone: 'warn' },
  DEAD_LETTERED: { title: 'Dead-lettered', tone: 'bad' },
  FAILED: { title: 'Failed', tone: 'bad' },
};

/**
 * A task's state changes in time order, rebuilt from the task itself (creation, each attempt, the
 * end) so it is complete however long ago they happened; the `task` subscription keeps it current.
 */
export function timeline(task: TaskDetail): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: task.createdAt, title: 'Submitted', tone: 'neutral' }];
  if (task.runAt && task.runAt > task.createdAt) {
    entries.push({ at: task.createdAt, title: `Scheduled to run at ${task.runAt}`, tone: 'neutral' });
  }
  for (const attempt of task.attempts) {
    if (attempt.startedAt) {
      entries.push({
        at: attempt.startedAt,
        title: `Attempt ${attempt.attempt} started`,
        detail: attempt.workerId ? `on ${attempt.workerId}` : undefined,
        tone: 'info',
      });
    }
    if (attempt.finishedAt && (attempt.error || attempt.stalled)) {
      entries.push({
        at: attempt.finishedAt,
        title: attempt.stalled ? `Attempt ${attempt.attempt} stalled` : `Attempt ${attempt.attempt} failed`,
        detail: attempt.error
          ? `${attempt.error.code}: ${attempt.error.message}`
          : 'its worker stopped answering',
        tone: 'bad',
      });
    }
  }
  const final = FINAL[task.status];
  if (final && task.finishedAt) entries.push({ at: task.finishedAt, ...final });
  return entries.toSorted((a, b) => a.at.localeCompare(b.at));
}

/** Statuses a task can still be cancelled from. */
export const CANCELLABLE: readonly TaskDetail['status'][] = [
  'PENDING',
  'RUNNING',
  'DELAYED',
  'RETRYING',
  'BLOCKED',
];
/** Statuses a task can be run again from. */
export const RETRYABLE: readonly TaskDetail['status'][] = ['FAILED', 'DEAD_LETTERED', 'CANCELLED'];
