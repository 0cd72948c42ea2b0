import type { Keys, Logger } from '@taskplane/core';
import { StreamTail, streamLastId } from '@taskplane/events';
import {
  decodePresence,
  listWorkers,
  type PresenceChange,
  PresenceKind,
  type WorkerPresence,
} from '@taskplane/queue';
import type { Redis } from 'ioredis';
import { Broadcast, type Feed } from './feed';

/**
 * Worker presence for this API process: one tail of the presence stream, fanned out to every
 * `workers` subscription (a dropped connection delays changes, never loses them). A worker killed outright sends no goodbye; a periodic check of the
 * heartbeat records announces it offline once its record expires.
 */
export class PresenceFeed {
  private readonly broadcast = new Broadcast<PresenceChange>();
  private tail: StreamTail | null = null;
  private timer: NodeJS.Timeout | null = null;
  private known = new Map<string, WorkerPresence>();

  constructor(
    private readonly redisUrl: string,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly checkIntervalMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // The stream's position first, then the records: a change in between is seen at least once.
    const from = await streamLastId(this.redis, this.keys.workersLog);
    this.tail = new StreamTail({ redisUrl: this.redisUrl, name: 'presence-tail', logger: this.logger });
    this.tail.follow(this.keys.workersLog, from, (entries) => {
      for (const [, fields] of entries) {
        const change = decodePresence(fields);
        if (!change) {
          this.logger.warn('unreadable presence message');
          continue;
        }
        if (change.kind === PresenceKind.Offline) this.known.delete(change.worker.id);
        else this.known.set(change.worker.id, change.worker);
        this.broadcast.publish(change);
      }
    });
    for (const worker of await listWorkers(this.redis, this.keys)) this.known.set(worker.id, worker);
    this.timer = setInterval(() => void this.sweep(), this.checkIntervalMs);
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    try {
      const alive = new Set((await listWorkers(this.redis, this.keys)).map((w) => w.id));
      for (const [id, worker] of this.known) {
        if (alive.has(id)) continue;
        this.known.delete(id);
        this.broadcast.publish({ kind: PresenceKind.Offline, worker });
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'presence sweep failed');
    }
  }

  subscribe(): Feed<PresenceChange> {
    return this.broadcast.subscribe();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.broadcast.closeAll();
    await this.tail?.stop();
  }
}
