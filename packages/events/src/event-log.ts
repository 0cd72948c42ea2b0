import { CursorExpiredError, type Keys, type TaskEvent, ValidationError } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { CURSOR_HINT, type Cursor, compareCursors } from './cursor';
import { decodeStreamEntry } from './event-codec';

/** Reads the event log (a capped Redis stream; `stream` names another log read by cursor, e.g. the alerts log). */
export class EventLog {
  constructor(
    private readonly redis: Redis,
    keys: Keys,
    private readonly stream = keys.events,
  ) {}

  /** Up to `count` events strictly after `cursor`, oldest first. */
  async readAfter(cursor: Cursor, count = 1000): Promise<TaskEvent[]> {
    const start = cursor === '0' || cursor === '0-0' ? '-' : `(${cursor}`;
    const entries = (await this.redis.xrange(this.stream, start, '+', 'COUNT', count)) as [
      string,
      string[],
    ][];
    return entries.map(([id, fields]) => decodeStreamEntry(id, fields));
  }

  /** The newest cursor, or `0` when the log is empty: "from now on". */
  async head(): Promise<Cursor> {
    const [entry] = (await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return entry?.[0] ?? '0';
  }

  /** The id the stream generated last (`0-0` when it has none): "now" for a tail. */
  async lastGeneratedId(): Promise<Cursor> {
    return (await this.facts())?.lastGenerated ?? '0-0';
  }

  private async facts(): Promise<{
    first: string | null;
    lastGenerated: string;
    added: number | undefined;
    length: number;
  } | null> {
    let info: unknown[];
    try {
      info = (await this.redis.xinfo('STREAM', this.stream)) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return null;
      throw error;
    }
    const field = (name: string) => {
      const i = info.indexOf(name);
      return i >= 0 ? info[i + 1] : undefined;
    };
    const first = field('first-entry') as [string, string[]] | null | undefined;
    return {
      first: first?.[0] ?? null,
      lastGenerated: String(field('last-generated-id') ?? '0-0'),
      added: field('entries-added') as number | undefined,
      length: field('length') as number,
    };
  }

  /**
   * Checks that the log can be read after `cursor` (a well-formed cursor, see `parseCursor`).
   * Throws `ValidationError` when it is newer than any event the stream generated (a made-up or
   * foreign cursor: reading after it would wait silently for ids that may never come), and
   * `CursorExpiredError` when events after it may have been trimmed away: the stream has dropped
   * entries and its oldest kept entry is newer than the cursor. (Redis 7.0 does not record trimmed
   * ids, so a cursor pointing exactly at the last trimmed entry is also refused: the error is
   * explicit, never a silent gap.)
   */
  async assertResumable(cursor: Cursor): Promise<void> {
    if (cursor === '0' || cursor === '0-0') return;
    const facts = await this.facts();
    const lastGenerated = facts?.lastGenerated ?? '0-0';
    if (compareCursors(cursor, lastGenerated) > 0) {
      throw new ValidationError(
        `cursor ${cursor} is newer than any event (the last is ${lastGenerated}): ${CURSOR_HINT}`,
        [{ path: 'after', message: 'no event has this cursor yet' }],
      );
    }
    if (!facts) return; // no stream yet: nothing was ever trimmed
    const lost = facts.added === undefined || facts.added > facts.length;
    if (lost && facts.first && compareCursors(facts.first, cursor) > 0)
      throw new CursorExpiredError(cursor, facts.first);
  }
}
