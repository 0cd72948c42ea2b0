import {
  createRedis,
  ErrorCode,
  type Keys,
  type Logger,
  type TaskEvent,
  TaskplaneError,
} from '@taskplane/core';
import type { Redis } from 'ioredis';
import { type Cursor, compareCursors } from './cursor';
import { decodeLiveMessages } from './event-codec';
import { type EventFilter, filterKey, matchesEvent } from './event-filter';
import { EventLog } from './event-log';

export interface SubscribeOptions {
  /** Replay everything after this cursor first; absent = live events only. */
  after?: Cursor | null;
  filter?: EventFilter;
  /** A subscriber that falls this many events behind is ended with an error (it can resume). */
  maxBuffered?: number;
}

/** A live feed of events; iterate it, and `close()` (or `return`) to leave. */
export interface EventFeed extends AsyncIterableIterator<TaskEvent> {
  close(): void;
}

interface Subscriber {
  push(event: TaskEvent): void;
}

interface FilterGroup {
  filter: EventFilter;
  subscribers: Set<Subscriber>;
}

const REPLAY_CHUNK = 1000;

/** The error a subscriber gets when it reads too slowly; resuming from its last cursor recovers. */
export class SubscriberTooSlowError extends TaskplaneError {
  constructor(buffered: number) {
    super(
      ErrorCode.Unavailable,
      `subscriber fell ${buffered} events behind and was disconnected; resume from your last cursor`,
      {
        retryable: true,
      },
    );
  }
}

/**
 * One Redis subscription per process, fanned out in memory. Subscribers with the same filter share
 * one evaluation per event. A subscriber that starts after cursor C gets every event after C and
 * then every live event, none missed and none twice: it listens first and buffers, replays the log,
 * then drains the buffer past the last replayed cursor.
 */
export class EventHub {
  private readonly groups = new Map<string, FilterGroup>();
  private subscriber: Redis | null = null;
  private connecting: Promise<void> | null = null;
  readonly log: EventLog;
  /** Events delivered to subscribers since start (for metrics). */
  delivered = 0;

  constructor(
    private readonly redisUrl: string,
    private readonly keys: Keys,
    /** A regular (non-subscriber) connection for replays. */
    redis: Redis,
    private readonly logger: Logger,
  ) {
    this.logger = logger.child({ component: 'event-hub' });
    this.log = new EventLog(redis, keys);
  }

  /** Open the one subscription; idempotent. */
  start(): Promise<void> {
    this.connecting ??= (async () => {
      const subscriber = createRedis({ url: this.redisUrl, role: 'subscriber', name: 'events-hub' });
      subscriber.on('message', (_channel: string, message: string) => {
        for (const event of decodeLiveMessages(message)) this.dispatch(event);
      });
      await subscriber.subscribe(this.keys.eventsChannel);
      this.subscriber = subscriber;
      this.logger.debug({ channel: this.keys.eventsChannel }, 'subscribed to live events');
    })();
    return this.connecting;
  }

  private dispatch(event: TaskEvent): void {
    for (const group of this.groups.values()) {
      if (!matchesEvent(event, group.filter)) continue;
      for (const subscriber of group.subscribers) subscriber.push(event);
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
    return () => {
      group.subscribers.delete(subscriber);
      if (group.subscribers.size === 0) this.groups.delete(key);
    };
  }

  /**
   * Subscribe to events matching `filter`. Throws `CursorExpiredError` (before yielding anything)
   * when `after` is older than what the log keeps.
   */
  async subscribe(options: SubscribeOptions = {}): Promise<EventFeed> {
    await this.start();
    const filter = options.filter ?? {};
    const maxBuffered = options.maxBuffered ?? 10_000;
    const queue: TaskEvent[] = [];
    let waiting: ((result: IteratorResult<TaskEvent>) => void) | null = null;
    let failure: Error | null = null;
    let closed = false;
    // Until replay is done, live events are held here; afterwards they flow to `queue`.
    let held: TaskEvent[] | null = options.after ? [] : null;
    let lastCursor: Cursor | null = options.after ?? null;
    // Only the hand-over can repeat an event: the replay may read events whose live copies are still
    // on their way. Live events arrive once and in order, so once one live event is newer than the
    // last replayed, every later one is too and the cursor comparison can stop.
    let handingOver = Boolean(options.after);

    const deliver = (event: TaskEvent) => {
      if (closed) return;
      if (handingOver) {
        if (lastCursor && compareCursors(event.cursor, lastCursor) <= 0) return;
        lastCursor = event.cursor;
        if (held === null) handingOver = false;
      }
      this.delivered++;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: event, done: false });
        return;
      }
      queue.push(event);
      if (queue.length > maxBuffered) {
        failure = new SubscriberTooSlowError(queue.length);
        queue.length = 0;
        remove();
      }
    };
    const remove = this.add(filter, {
      push: (event) => {
        if (held) held.push(event);
        else deliver(event);
      },
    });

    const close = () => {
      if (closed) return;
      closed = true;
      remove();
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: undefined, done: true });
      }
    };

    if (options.after) {
      try {
        await this.log.assertResumable(options.after);
        let cursor = options.after;
        for (;;) {
          const events = await this.log.readAfter(cursor, REPLAY_CHUNK);
          for (const event of events) if (matchesEvent(event, filter)) deliver(event);
          if (events.length < REPLAY_CHUNK) break;
          cursor = events.at(-1)!.cursor;
        }
        const buffered: TaskEvent[] = held!;
        held = null;
        for (const event of buffered) deliver(event);
      } catch (error) {
        close();
        throw error;
      }
    }

    const feed: EventFeed = {
      [Symbol.asyncIterator]() {
        return feed;
      },
      next() {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
        if (failure) {
          const error = failure;
          failure = null;
          close();
          return Promise.reject(error);
        }
        if (closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiting = resolve;
        });
      },
      return() {
        close();
        return Promise.resolve({ value: undefined, done: true });
      },
      close,
    };
    return feed;
  }

  async stop(): Promise<void> {
    for (const group of this.groups.values()) group.subscribers.clear();
    this.groups.clear();
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.connecting = null;
  }
}
