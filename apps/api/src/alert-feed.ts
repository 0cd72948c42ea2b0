import type { AlertEvent, Keys, Logger } from '@taskplane/core';
import { EventLog, parseCursor, ResumableFeed, type ResumableSource, StreamTail } from '@taskplane/events';
import { type AlertEventFilter, AlertLog, decodeAlertEvent, matchesAlertEvent } from '@taskplane/queue';
import type { Redis } from 'ioredis';

type Subscriber = { push(event: AlertEvent): void };

/**
 * Alert events for this API process: one tail of the alerts log (`Keys.alertsLog`) fanned out to
 * every `alerts` subscription. A subscription with `after` replays the log from that cursor and
 * then joins the live fan-out with no gap and no duplicate (`ResumableFeed`); the stream is
 * followed by cursor, so a dropped connection delays alerts and never loses them.
 */
export class AlertFeed implements ResumableSource<AlertEvent> {
  private readonly subscribers = new Set<Subscriber>();
  private readonly cursors: EventLog;
  readonly log: AlertLog;
  private tail: StreamTail | null = null;
  dispatched = '0-0';

  constructor(
    private readonly redisUrl: string,
    redis: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {
    this.cursors = new EventLog(redis, keys, keys.alertsLog);
    this.log = new AlertLog(redis, keys);
  }

  async start(): Promise<void> {
    this.dispatched = await this.cursors.lastGeneratedId();
    this.tail = new StreamTail({ redisUrl: this.redisUrl, name: 'alerts-tail', logger: this.logger });
    this.tail.follow(this.keys.alertsLog, this.dispatched, (entries) => {
      for (const [cursor, fields] of entries) {
        this.dispatched = cursor;
        const event = decodeAlertEvent(cursor, fields);
        if (!event) {
          this.logger.warn({ cursor }, 'unreadable alert event');
          continue;
        }
        for (const subscriber of this.subscribers) subscriber.push(event);
      }
    });
  }

  async readAfter(cursor: string, count: number): Promise<{ items: AlertEvent[]; last: string | null }> {
    const items = await this.log.readAfter(cursor, count);
    return { items, last: items.at(-1)?.cursor ?? null };
  }

  assertResumable(cursor: string): Promise<void> {
    return this.cursors.assertResumable(cursor);
  }

  join(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /**
   * Alert events matching `filter`: after `after` (replayed, then live) or from now. Throws before
   * yielding anything when `after` is not a cursor, is newer than any alert event, or has expired.
   */
  async subscribe(after: string | null, filter: AlertEventFilter): Promise<ResumableFeed<AlertEvent>> {
    if (after) await this.assertResumable(parseCursor(after));
    return new ResumableFeed(this, (event) => matchesAlertEvent(event, filter), after || null);
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    await this.tail?.stop();
  }
}
