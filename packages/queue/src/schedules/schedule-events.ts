import type { Schedule, TickOutcome } from '@taskplane/core';

/** What happened to a schedule. Wire-level: stored in the schedules stream, compared across processes. */
export const ScheduleEventKind = {
  Created: 'created',
  Updated: 'updated',
  Deleted: 'deleted',
  Fired: 'fired',
  Skipped: 'skipped',
} as const;
export type ScheduleEventKind = (typeof ScheduleEventKind)[keyof typeof ScheduleEventKind];

/** One entry of the schedules stream. `cursor` is its stream id (set when read). */
export interface ScheduleEvent {
  cursor: string;
  kind: ScheduleEventKind;
  scheduleId: string;
  at: number;
  /** The schedule after the change (created, updated); its last state for deleted; null for ticks. */
  schedule: Schedule | null;
  /** The tick's outcome (fired, skipped); null otherwise. */
  outcome: TickOutcome | null;
}

/** Schedule events kept in the stream (approximately); a subscriber follows it live. */
export const SCHEDULE_LOG_MAX_LEN = 10_000;
/** Tick outcomes kept per schedule. */
export const SCHEDULE_TICKS_KEPT = 100;

/** The stream field holding an event's JSON. */
export const SCHEDULE_EVENT_FIELD = 'e';

export function encodeScheduleEvent(event: Omit<ScheduleEvent, 'cursor'>): string {
  return JSON.stringify(event);
}

/** A stream entry as an event; null when unreadable. */
export function decodeScheduleEvent(cursor: string, fields: string[]): ScheduleEvent | null {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== SCHEDULE_EVENT_FIELD) continue;
    try {
      return { ...(JSON.parse(fields[i + 1] ?? '') as Omit<ScheduleEvent, 'cursor'>), cursor };
    } catch {
      return null;
    }
  }
  return null;
}
