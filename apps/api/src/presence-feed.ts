import { createRedis, type Keys, type Logger } from '@taskplane/core';
import { listWorkers, type PresenceChange, PresenceKind, type WorkerPresence } from '@taskplane/queue';
import type { Redis } from 'ioredis';
import { Broadcast, type Feed } from './feed';

/**
 * Worker presence for this API process: one Redis subscription to presence changes, fanned out to
 * every `workers` subscription. A worker killed outright sends no goodbye; a periodic check of the
 * heartbeat records announces it offline once its record expires.
 */
export class PresenceFeed {
  private readonly broadcast = new Broadcast<PresenceChange>();
  private subscriber: Redis | null = null;
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
    this.subscriber = createRedis({ url: this.redisUrl, role: 'subscriber', name: 'presence' });
    this.subscriber.on('message', (_channel: string, text: string) => {
      try {
        const change = JSON.parse(text) as PresenceChange;
        if (change.kind === PresenceKind.Offline) this.known.delete(change.worker.id);
        else this.known.set(change.worker.id, change.worker);
        this.broadcast.publish(change);
      } catch (error) {
        this.logger.warn({ err: error }, 'unreadable presence message');
      }
    });
    await this.subscriber.subscribe(this.keys.workersChannel);
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
    this.subscriber?.disconnect();
  }
}
