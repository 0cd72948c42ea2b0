import { CursorExpiredError, type Keys, type TaskEvent } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { type Cursor, compareCursors } from './cursor';
import { decodeStreamEntry } from './event-codec';

/** Reads the event log (a capped Redis stream). */
export class EventLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Up to `count` events strictly after `cursor`, oldest first. */
  async readAfter(cursor: Cursor, count = 1000): Promise<TaskEvent[]> {
    const start = cursor === '0' || cursor === '0-0' ? '-' : `(${cursor}`;
    const entries = (await this.redis.xrange(this.keys.events, start, '+', 'COUNT', count)) as [
      string,
      string[],
    ][];
    return entries.map(([id, fields]) => decodeStreamEntry(id, fields));
  }

  /** The newest cursor, or `0` when the log is empty: "from now on". */
  async head(): Promise<Cursor> {
    const [entry] = (await this.redis.xrevrange(this.keys.events, '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    return entry?.[0] ?? '0';
  }

  /**
   * Throws `CursorExpiredError` when events after `cursor` may have been trimmed away: the stream
   * has dropped entries and its oldest kept entry is newer than the cursor. (Redis 7.0 does not
   * record trimmed ids, so a cursor pointing exactly at the last trimmed entry is also refused:
   * the error is explicit, never a silent gap.)
   */
  async assertResumable(cursor: Cursor): Promise<void> {
    if (cursor === '0' || cursor === '0-0') return;
    let info: unknown[];
    try {
      info = (await this.redis.xinfo('STREAM', this.keys.events)) as unknown[];
    } catch {
      return; // no stream yet: nothing was ever trimmed
    }
    const field = (name: string) => {
      const i = info.indexOf(name);
      return i >= 0 ? info[i + 1] : undefined;
    };
    const first = field('first-entry') as [string, string[]] | null | undefined;
    const added = field('entries-added') as number | undefined;
    const length = field('length') as number;
    const lost = added === undefined || added > length;
    if (lost && first && compareCursors(first[0], cursor) > 0) throw new CursorExpiredError(cursor, first[0]);
  }
}
