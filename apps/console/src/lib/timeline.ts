import type { TaskDetailFieldsFragment } from '@taskplane/client';
import { dateTime, time } from './format';
import type { TaskEvent, TaskEventKind } from './live/event-feed';

export type TaskDetail = TaskDetailFieldsFragment;

export interface TimelineEntry {
  /** The event's cursor: unique, and in the order things happened. */
  key: string;
  at: string;
  /** What happened, in a few words. */
  title: string;
  detail?: string;
  tone: 'neutral' | 'info' | 'ok' | 'warn' | 'bad';
}

/** What the API puts in `data`, by kind (see the event log's projection); every field optional. */
interface EventData {
  attempt?: number | null;
  workerId?: string | null;
  error?: { code?: string; message?: string } | null;
  runAt?: number | null;
  reason?: string | null;
  /** On PREEMPTED, of the preempted task: the task that took its slot. */
  by?: string | null;
  /** On PREEMPTED, of the urgent task: the task it preempted. */
  preempted?: string | null;
  /** On STARTED: the attempt carries on after the task's children finished. */
  resumed?: boolean | null;
}

function errorDetail(error: EventData['error']): string | undefined {
  if (!error?.message) return undefined;
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

const DAY_MS = 86_400_000;

/** `next try at 14:03:09`, or with the date when it is a day or more away. */
function runAtDetail(runAt: EventData['runAt'], at: string, what = 'runs'): string | undefined {
  const from = Date.parse(at);
  if (!runAt || runAt <= from) return undefined;
  const iso = new Date(runAt).toISOString();
  return `${what} at ${runAt - from < DAY_MS ? time(iso) : dateTime(iso)}`;
}

const ENTRIES: Record<TaskEventKind, (data: EventData, at: string) => Omit<TimelineEntry, 'key' | 'at'>> = {
  SUBMITTED: (d, at) => ({ title: 'Submitted', detail: runAtDetail(d.runAt, at), tone: 'neutral' }),
  BLOCKED: () => ({ title: 'Waiting for its children', tone: 'neutral' }),
  READY: (d, at) => ({
    title: d.runAt ? 'Delayed' : 'Ready to run',
    detail: runAtDetail(d.runAt, at),
    tone: 'neutral',
  }),
  STARTED: (d) => ({
    title: d.resumed
      ? `Attempt ${d.attempt ?? '?'} resumed after its children`
      : `Attempt ${d.attempt ?? '?'} started`,
    detail: d.workerId ? `on ${d.workerId}` : undefined,
    tone: 'info',
  }),
  PROGRESS: () => ({ title: 'Progress', tone: 'neutral' }),
  LOG: () => ({ title: 'Log line', tone: 'neutral' }),
  RETRYING: (d, at) => ({
    title: `Attempt ${d.attempt ?? '?'} failed, will retry`,
    detail:
      [errorDetail(d.error), runAtDetail(d.runAt, at, 'next try')].filter(Boolean).join(' · ') || undefined,
    tone: 'warn',
  }),
  STALLED: (d) => ({
    title: `Attempt ${d.attempt ?? '?'} stalled`,
    detail: `${d.workerId ? `worker ${d.workerId}` : 'its worker'} stopped answering; handed to another`,
    tone: 'bad',
  }),
  PREEMPTED: (d) => ({
    title: d.preempted ? 'Preempted a running task' : `Attempt ${d.attempt ?? '?'} preempted`,
    detail: d.preempted
      ? `took the slot of ${d.preempted}`
      : d.by
        ? `handed back for ${d.by}; the attempt is not counted`
        : undefined,
    tone: d.preempted ? 'info' : 'warn',
  }),
  REQUEUED: (d) => ({ title: 'Requeued', detail: d.reason ?? undefined, tone: 'neutral' }),
  SUCCEEDED: () => ({ title: 'Succeeded', tone: 'ok' }),
  FAILED: (d) => ({ title: `Attempt ${d.attempt ?? '?'} failed`, detail: errorDetail(d.error), tone: 'bad' }),
  CANCELLED: (d) => ({ title: 'Cancelled', detail: d.reason ?? undefined, tone: 'warn' }),
  // The error was just shown on the failed attempt.
  DEAD_LETTERED: () => ({ title: 'Dead-lettered', tone: 'bad' }),
  DELETED: () => ({ title: 'Deleted', detail: 'its record was removed', tone: 'neutral' }),
};

/** One timeline entry for a task event, with the detail its data carries (errors, worker ids). */
export function timelineEntry(event: TaskEvent): TimelineEntry {
  const data = (event.data ?? {}) as EventData;
  return { key: event.cursor, at: event.at, ...ENTRIES[event.kind](data, event.at) };
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
