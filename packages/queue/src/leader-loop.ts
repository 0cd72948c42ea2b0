import type { Logger } from '@taskplane/core';
import type { LeaderLease } from './leader-lease';

export interface LeaderLoopOptions {
  lease: LeaderLease;
  /** One pass while this process holds the lease; resolves with how long to wait for the next, in ms. */
  pass: () => Promise<number>;
  /** How long a process that does not lead (or whose pass failed) waits before it tries again, in ms. */
  followerWaitMs: number;
  logger: Logger;
  /** Names the loop in log lines. */
  what: string;
}

/**
 * Work that one process at a time does over and over (the scheduler, the metrics keeper): take the
 * lease if free, run a pass while holding it, sleep, and on stop hand the lease over at once.
 */
export class LeaderLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: LeaderLoopOptions) {}

  get isLeader(): boolean {
    return this.options.lease.isHeld;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { lease, pass, followerWaitMs, logger, what } = this.options;
    while (this.running) {
      let waitMs = followerWaitMs;
      try {
        if (await lease.acquire()) waitMs = await pass();
      } catch (error) {
        if (!this.running) break;
        logger.warn({ err: error }, `${what} pass failed; retrying`);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop?.catch(() => {});
    await this.options.lease.release();
  }
}
