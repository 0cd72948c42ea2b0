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
  /**
   * Hand live events straight to `listener` as the hub dispatches them, instead of queueing them
   * for `next()`: a fan-out to thousands of subscribers then costs one call per subscriber, not a
   * chain of promises each. Succeeds (returns true) only while nothing is waiting to be taken and
   * the feed is live (not replaying), so order is kept: what `next()` would have returned comes
   * first. `listen(null)` stops; later events queue for `next()` again (up to `maxBuffered`).
   * When the feed ends while listened to, `listener.end()` is called: call `next()` for the outcome.
   */
  listen?(listener: FeedListener | null): boolean;
}

/** Where a listened-to feed's events go (see `EventFeed.listen`). */
export interface FeedListener {
  event(event: TaskEvent): void;
  end(): void;
}

interface Subscriber {
  push(event: TaskEvent): void;
}

interface FilterGroup {
  key: string;
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
/**
 * How long the hub keeps reading the event stream after its last subscription ended. Reading
 * with no one to give events to cost an API process a blocking read per projection call (each
 * submit's events woke it): about a tenth of its CPU per submit. A client that reconnects within
 * this keeps the tail as it was.
 */
const IDLE_MS = 5_000;

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
  /** The open subscriptions, to end them on `stop()`. @internal */
  readonly ends = new Set<Subscription>();
  private tail: StreamTail | null = null;
  private starting: Promise<void> | null = null;
  private following: Promise<void> | null = null;
  private unfollow: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /**
   * The cursor of the last event the tail dispatched: live subscribers get everything after it.
   * @internal
   */
  dispatched: Cursor = '0-0';
  readonly log: EventLog;
  /** Events delivered to subscribers since start (for metrics). */
  delivered = 0;

  constructor(
    private readonly redisUrl: string,
    private readonly keys: Keys,
    /** A regular connection for replays and stream facts. */
    redis: Redis,
    private readonly logger: Logger,
    /** How long to keep reading with no subscription open (tests shorten it). */
    private readonly idleMs = IDLE_MS,
  ) {
    this.logger = logger.child({ component: 'event-hub' });
    this.log = new EventLog(redis, keys);
  }

  /**
   * Open the tail and follow the event stream from now; idempotent. The hub stops reading while
   * no subscription is open (after `IDLE_MS`) and follows again, from then, for the next one.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.tail = new StreamTail({
        redisUrl: this.redisUrl,
        name: `events-tail:${this.keys.prefix}`,
        logger: this.logger,
        count: TAIL_COUNT,
      });
      await this.follow();
      this.released();
    })();
    return this.starting;
  }

  /** Follow the stream from its last event, unless following already. */
  private follow(): Promise<void> {
    this.following ??= (async () => {
      const after = await this.log.lastGeneratedId();
      // With no subscription open nothing was dispatched since the last event this hub followed.
      this.dispatched = after;
      const unfollow = this.tail!.follow(this.keys.events, after, (entries) => this.dispatch(entries));
      this.unfollow = unfollow;
      this.logger.debug({ stream: this.keys.events, after }, 'following live events');
    })();
    return this.following;
  }

  /** A subscription ended (or none began): stop reading after `IDLE_MS` if none is open by then. */
  released(): void {
    if (this.ends.size > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.ends.size > 0 || !this.unfollow) return;
      this.unfollow();
      this.unfollow = null;
      this.following = null;
      this.logger.debug('no subscriptions: not reading the event stream');
    }, this.idleMs);
    this.idleTimer.unref();
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

  /**
   * Adds a live subscriber to its filter's group, and returns the group (to `leave` it): the
   * subscribers of a filter share its group's filter and key. @internal
   */
  add(filter: EventFilter, subscriber: Subscriber): FilterGroup {
    const key = filterKey(filter);
    let group = this.groups.get(key);
    if (!group) {
      group = { key, filter, subscribers: new Set() };
      this.groups.set(key, group);
    }
    group.subscribers.add(subscriber);
    return group;
  }

  /** Removes a subscriber from the group `add` put it in. @internal */
  leave(group: FilterGroup, subscriber: Subscriber): void {
    group.subscribers.delete(subscriber);
    if (group.subscribers.size === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /**
   * Subscribe to events matching `filter`. Throws before yielding anything: `ValidationError` when
   * `after` is not a cursor or is newer than any event, `CursorExpiredError` when it is older than
   * what the log keeps.
   */
  async subscribe(options: SubscribeOptions = {}): Promise<EventFeed> {
    await this.start();
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    await this.follow();
    if (options.after) await this.log.assertResumable(parseCursor(options.after));
    const subscription = new Subscription(
      this,
      options.filter ?? {},
      options.maxBuffered ?? MAX_BUFFERED,
      options.after ?? null,
    );
    this.ends.add(subscription);
    return subscription;
  }

  /** Stop following the stream and end every subscription. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    for (const subscription of this.ends) subscription.close();
    this.groups.clear();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    await this.tail?.stop();
    this.tail = null;
    this.starting = null;
    this.following = null;
    this.unfollow = null;
  }
}

/**
 * One subscriber's feed: a replay pulled from the log in chunks, then live events pushed by the
 * hub. A class rather than a dozen closures: an API process holds one per open subscription, and
 * closures cost several times the memory of methods (issue 10's heap snapshots of 1,000 idle
 * subscriptions).
 */
class Subscription implements EventFeed, Subscriber {
  /** Events ready for the consumer: one replay chunk, or live events up to `maxBuffered`. */
  private queue: TaskEvent[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<TaskEvent>) => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** The hub's group this subscriber is in while live. */
  private group: FilterGroup | null = null;
  /** Live copies of events at or before this were read by the replay; null once past it. */
  private overlap: Cursor | null = null;
  private pulling: Promise<void> | null = null;
  private listener: FeedListener | null = null;

  constructor(
    private readonly hub: EventHub,
    private readonly filter: EventFilter,
    private readonly maxBuffered: number,
    /** While replaying: the last cursor read from the log (matching or not); null when live. */
    private readCursor: Cursor | null,
  ) {
    if (readCursor === null) this.group = hub.add(filter, this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private get size(): number {
    return this.queue.length - this.head;
  }

  private take(): TaskEvent {
    const event = this.queue[this.head++]!;
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.hub.delivered++;
    return event;
  }

  private settle(result: IteratorResult<TaskEvent>): void {
    const resolve = this.waiting!;
    this.waiting = null;
    resolve(result);
  }

  /** A live event from the hub. */
  push(event: TaskEvent): void {
    if (this.closed || this.failure) return;
    if (this.overlap !== null) {
      if (compareCursors(event.cursor, this.overlap) <= 0) return;
      this.overlap = null;
    }
    if (this.listener) {
      this.hub.delivered++;
      this.listener.event(event);
      return;
    }
    if (this.waiting && this.size === 0) {
      this.hub.delivered++;
      this.settle({ value: event, done: false });
      return;
    }
    if (this.size >= this.maxBuffered) {
      // The buffered events are contiguous; the consumer gets them, then this error, and never an
      // event past the gap.
      this.failure = new SubscriberTooSlowError(this.maxBuffered);
      this.leaveGroup();
      return;
    }
    this.queue.push(event);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.ends.delete(this);
    this.hub.released();
    this.leaveGroup();
    this.queue.length = 0;
    this.head = 0;
    if (this.waiting) this.settle({ value: undefined, done: true });
    this.endListener();
  }

  private leaveGroup(): void {
    if (this.group) this.hub.leave(this.group, this);
    this.group = null;
  }

  private endListener(): void {
    const listener = this.listener;
    this.listener = null;
    listener?.end();
  }

  listen(listener: FeedListener | null): boolean {
    if (listener === null) {
      this.listener = null;
      return true;
    }
    if (this.closed || this.failure || this.readCursor !== null || this.waiting || this.size > 0)
      return false;
    this.listener = listener;
    return true;
  }

  peek(count: number): readonly TaskEvent[] {
    return this.queue.slice(this.head, this.head + count);
  }

  /** One replay step: read a chunk after `readCursor`, or join the live fan-out when caught up. */
  private async pull(): Promise<void> {
    const cursor = this.readCursor!;
    if (compareCursors(cursor, this.hub.dispatched) >= 0) {
      // Caught up with the tail (perhaps ahead of it): live from here, minus what was read.
      this.readCursor = null;
      this.overlap = cursor;
      this.group = this.hub.add(this.filter, this);
      return;
    }
    await this.hub.log.assertResumable(cursor);
    const events = await this.hub.log.readAfter(cursor, REPLAY_CHUNK);
    if (this.closed) return;
    if (events.length === 0) {
      // The tail dispatched past `cursor` but the log holds nothing after it: trimmed away.
      throw new CursorExpiredError(cursor, null);
    }
    for (const event of events) if (matchesEvent(event, this.filter)) this.queue.push(event);
    this.readCursor = events.at(-1)!.cursor;
  }

  async next(): Promise<IteratorResult<TaskEvent>> {
    for (;;) {
      if (this.size > 0) return { value: this.take(), done: false };
      if (this.closed) return { value: undefined, done: true };
      if (this.failure) {
        const error = this.failure;
        this.close();
        throw error;
      }
      if (this.readCursor === null) {
        return await new Promise<IteratorResult<TaskEvent>>((resolve) => {
          this.waiting = resolve;
        });
      }
      // Replaying: one pull at a time, however the consumer calls next().
      this.pulling ??= this.pull().finally(() => {
        this.pulling = null;
      });
      try {
        await this.pulling;
      } catch (error) {
        this.close();
        throw error;
      }
    }
  }

  return(): Promise<IteratorResult<TaskEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }
}
