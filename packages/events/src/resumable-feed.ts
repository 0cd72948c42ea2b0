import { CursorExpiredError } from '@taskplane/core';
import { type Cursor, compareCursors } from './cursor';
import { SubscriberTooSlowError } from './event-hub';

/** A capped stream followed live by one tail per process, which a subscriber can resume after a cursor. */
export interface ResumableSource<T extends { cursor: Cursor }> {
  /** The cursor of the last entry the tail handed to live subscribers. */
  readonly dispatched: Cursor;
  /** Up to `count` entries after `cursor`, oldest first, and the id of the last one read (decoded or not). */
  readAfter(cursor: Cursor, count: number): Promise<{ items: T[]; last: Cursor | null }>;
  /** Throws `CursorExpiredError` when entries after `cursor` may have been trimmed. */
  assertResumable(cursor: Cursor): Promise<void>;
  /** Add a live subscriber; returns how to remove it. */
  join(subscriber: { push(item: T): void }): () => void;
}

/** Entries read per replay step: the most a replaying subscriber holds. */
const CHUNK = 200;

/**
 * One subscriber of a `ResumableSource` (the alerts log): with `after`, the log is replayed in
 * chunks as the consumer takes them until it reaches what the tail has dispatched; then it joins
 * the live fan-out, dropping live copies of entries it already read. Every entry after the cursor
 * once, in order (as `EventHub` does for task events). A consumer that leaves `maxBuffered` live
 * entries untaken gets those, then `SubscriberTooSlowError`, and resumes from its last cursor.
 */
export class ResumableFeed<T extends { cursor: Cursor }> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  private remove: (() => void) | null = null;
  /** Live copies of entries at or before this were read by the replay; null once past it. */
  private overlap: Cursor | null = null;

  constructor(
    private readonly source: ResumableSource<T>,
    private readonly matches: (item: T) => boolean,
    /** While replaying, the last cursor read from the log; null when live. */
    private readCursor: Cursor | null,
    private readonly maxBuffered = 1_000,
  ) {
    if (readCursor === null) this.remove = source.join(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(item: T): void {
    if (this.closed || this.failure || !this.matches(item)) return;
    if (this.overlap !== null) {
      if (compareCursors(item.cursor, this.overlap) <= 0) return;
      this.overlap = null;
    }
    if (this.waiting && this.queue.length === 0) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
      return;
    }
    if (this.queue.length >= this.maxBuffered) {
      this.failure = new SubscriberTooSlowError(this.maxBuffered);
      this.remove?.();
      return;
    }
    this.queue.push(item);
  }

  private async pull(): Promise<void> {
    const cursor = this.readCursor!;
    if (compareCursors(cursor, this.source.dispatched) >= 0) {
      this.readCursor = null;
      this.overlap = cursor;
      this.remove = this.source.join(this);
      return;
    }
    await this.source.assertResumable(cursor);
    const { items, last } = await this.source.readAfter(cursor, CHUNK);
    for (const item of items) if (this.matches(item)) this.queue.push(item);
    // The tail dispatched past `cursor` but the log holds nothing after it: trimmed away.
    if (last === null) throw new CursorExpiredError(cursor, null);
    this.readCursor = last;
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.queue.length > 0) return { value: this.queue.shift()!, done: false };
      if (this.closed) return { value: undefined, done: true };
      if (this.failure) {
        const error = this.failure;
        this.close();
        throw error;
      }
      if (this.readCursor === null) {
        return await new Promise<IteratorResult<T>>((resolve) => {
          this.waiting = resolve;
        });
      }
      try {
        await this.pull();
      } catch (error) {
        this.close();
        throw error;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.remove?.();
    this.queue.length = 0;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }
}
