import type { Keys, Logger } from '@taskplane/core';
import { StreamTail, streamLastId } from '@taskplane/events';
import { decodeScheduleEvent, type ScheduleEvent } from '@taskplane/queue';
import type { Redis } from 'ioredis';
import { Broadcast, type Feed } from './feed';

/**
 * Schedule events for this API process: one tail of the schedules stream (created, updated,
 * deleted, fired, skipped), fanned out to every `schedules` subscription. The stream is followed
 * by cursor, so a dropped connection delays events and never loses them.
 */
export class ScheduleFeed {
  private readonly broadcast = new Broadcast<ScheduleEvent>();
  private tail: StreamTail | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const from = await streamLastId(this.redis, this.keys.schedulesLog);
    this.tail = new StreamTail({ redisUrl: this.redisUrl, name: 'schedules-tail', logger: this.logger });
    this.tail.follow(this.keys.schedulesLog, from, (entries) => {
      for (const [cursor, fields] of entries) {
        const event = decodeScheduleEvent(cursor, fields);
        if (event) this.broadcast.publish(event);
        else this.logger.warn({ cursor }, 'unreadable schedule event');
      }
    });
  }

  subscribe(): Feed<ScheduleEvent> {
    return this.broadcast.subscribe();
  }

  async stop(): Promise<void> {
    this.broadcast.closeAll();
    await this.tail?.stop();
  }
}
