import type { Logger } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { TaskEngine } from './task-engine';

/**
 * Keeps task records and the event log up to date with BullMQ: blocks on the queues' BullMQ event
 * streams (one blocking connection for all of them) and applies what arrives. Any number of
 * processes may run one; the projection script's checkpoint makes each entry apply exactly once.
 */
export class Projector {
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly engine: TaskEngine,
    /** A dedicated connection: XREAD BLOCK holds it. */
    private readonly blocking: Redis,
    private readonly queues: string[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const streams = this.queues.map((q) => this.engine.keys.bullEvents(q));
    const seen = new Map<string, string>();
    for (const queue of this.queues) await this.catchUp(queue);
    for (const [i, queue] of this.queues.entries()) {
      const checkpoint = await this.engine.redis.get(this.engine.keys.projectorCheckpoint(queue));
      seen.set(streams[i]!, checkpoint ?? '0-0');
    }
    while (this.running) {
      try {
        const reply = (await this.blocking.xread(
          'COUNT',
          1000,
          'BLOCK',
          2000,
          'STREAMS',
          ...streams,
          ...streams.map((s) => seen.get(s)!),
        )) as [string, [string, string[]][]][] | null;
        if (!reply) continue;
        for (const [stream, entries] of reply) {
          const last = entries.at(-1);
          if (!last) continue;
          seen.set(stream, last[0]);
          const queue = this.queues[streams.indexOf(stream)]!;
          if (!this.engine.appliedUpTo(queue, last[0])) await this.catchUp(queue);
        }
      } catch (error) {
        if (!this.running) break;
        this.logger.warn({ err: error }, 'projector read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async catchUp(queue: string): Promise<void> {
    try {
      await this.engine.project(queue);
    } catch (error) {
      if (this.running) this.logger.warn({ err: error, queue }, 'projection failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.blocking.disconnect();
    await this.loop?.catch(() => {});
  }
}
