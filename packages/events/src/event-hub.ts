import {
  CursorExpiredError,
  ErrorCode,
  type Keys,
  type Logger,
  type TaskEvent,
  TaskplaneError,
} from '@taskplane/core';
import type { Redis } from 'ioredis';
import { type Cursor, compareCursors, parseCursor } from './cursor';
import { decodeStreamEntry } from './event-codec';
import { type EventFilter, filterKey, matchesEvent } from './event-filter';
import { EventLog } from './event-log';
import { type StreamEntry, StreamTail } from './stream-tail';

export interface SubscribeOptions {
  /** Replay everything after this cursor first; absent = live events only. */
  after?: Cursor | null;
  filter?: EventFilter;
  /**
   * Live events held for a subscriber that has not taken them yet; one more ends it with
   * `SubscriberTooSlowError` (it can resume from its last cursor). Default `MAX_BUFFERED`.
   */
  maxBuffered?: number;
}

/** A live feed of events; iterate it, and `close()` (or `return`) to leave. */
export interface EventFeed extends AsyncIterableIterator<TaskEvent> {
  close(): void;
  /**
   * Up to `count` of the events waiting to be taken, without taking them: lets a consumer prepare
   * for what comes next (the API loads the tasks of upcoming events in one round trip).
   */
  peek(count: number): readonly TaskEvent[];
}

interface Subscriber {
  push(event: TaskEvent): void;
}

interface FilterGroup {
  filter: EventFilter;
  subscribers: Set<Subscriber>;
}

/**
 * The most live events one subscriber may have waiting, by default: with the ~300 bytes an event
 * takes in memory, about 300 KB per subscriber however slow it reads. A replay holds at most one
 * chunk (`REPLAY_CHUNK`) at a time, whatever its length.
 */
export const MAX_BUFFERED = 1_000;

/** Events read from the log per replay step, and so the most a replaying subscriber holds. */
export const REPLAY_CHUNK = 500;

/** Entries the tail reads per `XREAD`: a burst one subscriber must absorb fits well in `MAX_BUFFERED`. */
const TAIL_COUNT = 500;

/** The error a subscriber gets when it reads too slowly; resuming from its last cursor recovers. */
export class SubscriberTooSlowError extends TaskplaneError {
  constructor(buffered: number) {
    super(
      ErrorCode.SubscriberTooSlow,
      `subscriber fell more than ${buffered} events behind and was disconnected; resume from the cursor of the last event you received`,
      { retryable: true },
    );
  }
}

/**
 * Live events for every subscription in this process from one tail of the event stream (no
 * pub/sub: a killed connection or a Redis restart costs latency, never an event), fanned out in
 * memory. Subscribers with the same filter share one evaluation per event.
 *
 * A subscriber that starts after cursor C pulls the log in chunks as it takes events, so a replay
 * of any length holds one chunk; when it has read up to what the tail has dispatched it joins the
 * live fan-out, skipping the live copies of events it already read (a cursor comparison during the
 * hand-over only). Every event after C once, in order, even while events keep flowing.
 */
export class EventHub {
  private readonly groups = new Map<string, FilterGroup>();
  /** How to end each open subscription, for `stop()`. */
  private readonly ends = new Set<() => void>();
  private tail: StreamTail | null = null;
  private starting: Promise<void> | null = null;
  /** The cursor of the last event the tail dispatched: live subscribers get everything after it. */
  private dispatched: Cursor = '0-0';
  readonly log: EventLog;
  /** Events delivered to subscribers since start (for metrics). */
  delivered = 0;

  constructor(
    private readonly redisUrl: string,
    private readonly keys: Keys,
    /** A regular connection for replays and stream facts. */
    redis: Redis,
    private readonly logger: Logger,
  ) {
    this.logger = logger.child({ component: 'event-hub' });
    this.log = new EventLog(redis, keys);
  }

  /** Start following the event stream from now; idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.dispatched = await this.log.lastGeneratedId();
      this.tail = new StreamTail({
        redisUrl: this.redisUrl,
        name: 'events-tail',
        logger: this.logger,
        count: TAIL_COUNT,
      });
      this.tail.follow(this.keys.events, this.dispatched, (entries) => this.dispatch(entries));
      this.logger.debug({ stream: this.keys.events, after: this.dispatched }, 'following live events');
    })();
    return this.starting;
  }

  private dispatch(entries: StreamEntry[]): void {
    for (const [id, fields] of entries) {
      const event = decodeStreamEntry(id, fields);
      this.dispatched = id;
      for (const group of this.groups.values()) {
        if (!matchesEvent(event, group.filter)) continue;
        for (const subscriber of group.subscribers) subscriber.push(event);
      }
    }
  }

  private add(filter: EventFilter, subscriber: Subscriber): () => void {
    const key = filterKey(filter);
    let group = this.groups.get(key);
    if (!group) {
      group = { filter, subscribers: new Set() };
      this.groups.set(key, group);
    }
    group.subscribers.add(subscriber);
    const joined = group;
    return () => {
      joined.subscribers.delete(subscriber);
      if (joined.subscribers.size === 0 && this.groups.get(key) === joined) this.groups.delete(key);
    };
  }

  /**
   * Subscribe to events matching `filter`. Throws before yielding anything: `ValidationError` when
   * `after` is not a cursor or is newer than any event, `CursorExpiredError` when it is older than
   * what the log keeps.
   */
  async subscribe(options: SubscribeOptions = {}): Promise<EventFeed> {
    await this.start();
    const filter = options.filter ?? {};
    const maxBuffered = options.maxBuffered ?? MAX_BUFFERED;
    if (options.after) await this.log.assertResumable(parseCursor(options.after));

    /** Events ready for the consumer: one replay chunk, or live events up to `maxBuffered`. */
    const queue: TaskEvent[] = [];
    let head = 0;
    let waiting: ((result: IteratorResult<TaskEvent>) => void) | null = null;
    let failure: Error | null = null;
    let closed = false;
    let remove: (() => void) | null = null;
    /** While replaying: the last cursor read from the log (matching or not). */
    let readCursor: Cursor | null = options.after ? options.after : null;
    /** Live copies of events at or before this were read by the replay; null once past it. */
    let overlap: Cursor | null = null;
    let pulling: Promise<void> | null = null;

    const size = () => queue.length - head;
    const take = (): TaskEvent => {
      const event = queue[head++]!;
      if (head > 256 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      this.delivered++;
      return event;
    };
    const settle = (result: IteratorResult<TaskEvent>) => {
      const resolve = waiting!;
      waiting = null;
      resolve(result);
    };

    const live: Subscriber = {
      push: (event) => {
        if (closed || failure) return;
        if (overlap !== null) {
          if (compareCursors(event.cursor, overlap) <= 0) return;
          overlap = null;
        }
        if (waiting && size() === 0) {
          this.delivered++;
          settle({ value: event, done: false });
          return;
        }
        if (size() >= maxBuffered) {
          // The buffered events are contiguous; the consumer gets them, then this error, and
          // never an event past the gap.
          failure = new SubscriberTooSlowError(maxBuffered);
          remove?.();
          return;
        }
        queue.push(event);
      },
    };

    const close = () => {
      if (closed) return;
      closed = true;
      this.ends.delete(close);
      remove?.();
      queue.length = 0;
      head = 0;
      if (waiting) settle({ value: undefined, done: true });
    };

    /** One replay step: read a chunk after `readCursor`, or join the live fan-out when caught up. */
    const pull = async (): Promise<void> => {
      const cursor = readCursor!;
      if (compareCursors(cursor, this.dispatched) >= 0) {
        // Caught up with the tail (perhaps ahead of it): live from here, minus what was read.
        readCursor = null;
        overlap = cursor;
        remove = this.add(filter, live);
        return;
      }
      await this.log.assertResumable(cursor);
      const events = await this.log.readAfter(cursor, REPLAY_CHUNK);
      if (closed) return;
      if (events.length === 0) {
        // The tail dispatched past `cursor` but the log holds nothing after it: trimmed away.
        throw new CursorExpiredError(cursor, null);
      }
      for (const event of events) if (matchesEvent(event, filter)) queue.push(event);
      readCursor = events.at(-1)!.cursor;
    };

    if (!options.after) remove = this.add(filter, live);
    this.ends.add(close);

    const next = async (): Promise<IteratorResult<TaskEvent>> => {
      for (;;) {
        if (size() > 0) return { value: take(), done: false };
        if (closed) return { value: undefined, done: true };
        if (failure) {
          const error = failure;
          close();
          throw error;
        }
        if (readCursor === null) {
          return await new Promise<IteratorResult<TaskEvent>>((resolve) => {
            waiting = resolve;
          });
        }
        // Replaying: one pull at a time, however the consumer calls next().
        pulling ??= pull().finally(() => {
          pulling = null;
        });
        try {
          await pulling;
        } catch (error) {
          close();
          throw error;
        }
      }
    };

    const feed: EventFeed = {
      [Symbol.asyncIterator]() {
        return feed;
      },
      next,
      return() {
        close();
        return Promise.resolve({ value: undefined, done: true });
      },
      close,
      peek: (count) => queue.slice(head, head + count),
    };
    return feed;
  }

  /** Stop following the stream and end every subscription. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    for (const end of this.ends) end();
    this.groups.clear();
    await this.tail?.stop();
    this.tail = null;
    this.starting = null;
  }
}
