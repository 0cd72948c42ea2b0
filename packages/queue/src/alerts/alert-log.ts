import type { Alert, AlertEvent, AlertEventKind, AlertSeverity, Keys } from '@taskplane/core';
import type { Redis } from 'ioredis';

/** The stream field holding an alert event's JSON (`{ kind, at, alert }`). */
export const ALERT_EVENT_FIELD = 'e';

/** An alerts log entry as an event; null when unreadable. */
export function decodeAlertEvent(cursor: string, fields: string[]): AlertEvent | null {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] !== ALERT_EVENT_FIELD) continue;
    try {
      const body = JSON.parse(fields[i + 1] ?? '') as Omit<AlertEvent, 'cursor'>;
      return { cursor, ...body };
    } catch {
      return null;
    }
  }
  return null;
}

export function encodeAlertEvent(kind: AlertEventKind, at: number, alert: Alert): string {
  return JSON.stringify({ kind, at, alert });
}

/** Which alert events a history read or a subscription keeps; every given field must match. */
export interface AlertEventFilter {
  kind?: AlertEventKind[] | null;
  severity?: AlertSeverity[] | null;
  ruleId?: string[] | null;
  queue?: string[] | null;
}

export function matchesAlertEvent(event: AlertEvent, filter: AlertEventFilter): boolean {
  const { alert } = event;
  return (
    (!filter.kind?.length || filter.kind.includes(event.kind)) &&
    (!filter.severity?.length || filter.severity.includes(alert.severity)) &&
    (!filter.ruleId?.length || filter.ruleId.includes(alert.ruleId)) &&
    (!filter.queue?.length || (alert.queue !== null && filter.queue.includes(alert.queue)))
  );
}

export interface AlertHistoryPage {
  events: AlertEvent[];
  /** Pass as `after` for the next (older) page; null on the last. */
  nextCursor: string | null;
}

/** Entries read per step of a filtered history page, and at most per page (a bounded walk). */
const HISTORY_CHUNK = 200;
const HISTORY_WALK_MAX = 5_000;

/** One alerts log entry id before `id` (exclusive XREVRANGE end). */
const before = (id: string) => `(${id}`;

/**
 * Reads the alerts log (`Keys.alertsLog`, capped at `alerts.log_max_len`): history pages newest
 * first, and the entries after a cursor for a resuming subscriber.
 */
export class AlertLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Up to `count` events strictly after `cursor` (`0` = from the oldest kept), oldest first. */
  async readAfter(cursor: string, count: number): Promise<AlertEvent[]> {
    const start = cursor === '0' || cursor === '0-0' ? '-' : `(${cursor}`;
    const entries = (await this.redis.xrange(this.keys.alertsLog, start, '+', 'COUNT', count)) as [
      string,
      string[],
    ][];
    return entries
      .map(([id, fields]) => decodeAlertEvent(id, fields))
      .filter((e): e is AlertEvent => e !== null);
  }

  /**
   * A page of events newest first, older than `after` when given. With a filter it walks at most
   * `HISTORY_WALK_MAX` entries for one page; a short page with a `nextCursor` means "keep going".
   */
  async history(
    first: number,
    after: string | null,
    filter: AlertEventFilter = {},
  ): Promise<AlertHistoryPage> {
    const events: AlertEvent[] = [];
    let end = after ? before(after) : '+';
    let walked = 0;
    for (;;) {
      const entries = (await this.redis.xrevrange(this.keys.alertsLog, end, '-', 'COUNT', HISTORY_CHUNK)) as [
        string,
        string[],
      ][];
      for (const [id, fields] of entries) {
        walked++;
        const event = decodeAlertEvent(id, fields);
        if (event && matchesAlertEvent(event, filter)) events.push(event);
        if (events.length === first) return { events, nextCursor: id };
        end = before(id);
      }
      if (entries.length < HISTORY_CHUNK) return { events, nextCursor: null };
      if (walked >= HISTORY_WALK_MAX) return { events, nextCursor: entries.at(-1)![0] };
    }
  }

  /** The alerts firing now, oldest first. */
  async firing(): Promise<Alert[]> {
    const all = await this.redis.hvals(this.keys.alertsFiring);
    return all.map((json) => JSON.parse(json) as Alert).sort((a, b) => a.firedAt - b.firedAt);
  }
}
