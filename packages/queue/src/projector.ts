import { compareStreamIds, type Logger } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { LeaderLease } from './leader-lease';
import type { TaskEngine } from './task-engine';

/** How long the projector waits before reading again after a wake it had nothing to do for. */
const SETTLE_MS = 10;

export interface ProjectorOptions {
  /** How long a leader's lease lasts without renewal; a dead leader is replaced after this. */
  leaseMs?: number;
  /** How often a follower tries to take the lease. */
  retryMs?: number;
  /**
   * While this says a better-placed process is around, do not lead (and hand the lead over if
   * holding it). API processes pass "a worker is online": projecting there would compete with
   * fanning events out to subscribers, so they project only when no worker does.
   */
  standbyWhile?: () => Promise<boolean>;
}

/**
 * Keeps task records and the event log up to date with BullMQ: blocks on the queues' BullMQ event
 * streams (one blocking connection for all of them) and applies what arrives.
 *
 * Every worker and API process runs one, but only the holder of a lease in Redis reads and
 * applies; the others wait to take over if it dies (after `leaseMs`). Without the lease every
 * process would wake on every BullMQ event and make a projection call that finds nothing to do.
 * Correctness does not depend on it: the projection script's checkpoint makes each entry apply
 * exactly once, whoever calls it (submits project their own jobs too).
 */
export class Projector {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly lease: LeaderLease;
  private readonly leaseMs: number;
  private readonly retryMs: number;
  private readonly standbyWhile: () => Promise<boolean>;

  constructor(
    private readonly engine: TaskEngine,
    /** A dedicated connection: XREAD BLOCK holds it. */
    private readonly blocking: Redis,
    private readonly logger: Logger,
    options: ProjectorOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 5000;
    this.retryMs = options.retryMs ?? 1000;
    this.standbyWhile = options.standbyWhile ?? (async () => false);
    this.lease = new LeaderLease(
      engine.redis,
      engine.keys.projectorLease,
      this.leaseMs,
      logger,
      'projector',
      async () => {
        if (await this.standbyWhile()) await this.lease.release('a better-placed process is online');
      },
    );
  }

  /** Whether this process applies BullMQ's events now. */
  get isLeader(): boolean {
    return this.lease.isHeld;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async acquire(): Promise<boolean> {
    if (await this.standbyWhile()) return false;
    return await this.lease.acquire();
  }

  /** Every queue the engine knows: whichever process leads projects them all. */
  private get queues(): string[] {
    return this.engine.queueNames();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!this.isLeader && !(await this.acquire())) {
          await new Promise((r) => setTimeout(r, this.retryMs));
          continue;
        }
        await this.lead();
      } catch (error) {
        if (!this.running) break;
        this.logger.warn({ err: error }, 'projector read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Read and apply until the lease is lost or the projector stops. */
  private async lead(): Promise<void> {
    const streams = this.queues.map((q) => this.engine.keys.bullEvents(q));
    const seen = new Map<string, string>();
    for (const queue of this.queues) await this.catchUp(queue);
    for (const [i, queue] of this.queues.entries()) {
      const checkpoint = await this.engine.redis.get(this.engine.keys.projectorCheckpoint(queue));
      seen.set(streams[i]!, checkpoint ?? '0-0');
    }
    while (this.running && this.isLeader) {
      // One entry is enough to know a stream moved: the projection script reads the entries
      // itself, so the full batch this read used to return was parsed here for nothing.
      const reply = (await this.blocking.xread(
        'COUNT',
        1,
        'BLOCK',
        Math.min(2000, this.leaseMs),
        'STREAMS',
        ...streams,
        ...streams.map((s) => seen.get(s)!),
      )) as [string, [string, string[]][]][] | null;
      if (!reply) continue;
      let appliedHere = true;
      for (const [stream, entries] of reply) {
        const first = entries[0];
        if (!first) continue;
        const queue = this.queues[streams.indexOf(stream)]!;
        // A submit here may have projected this entry in a call whose answer is still on its way.
        if (!this.engine.appliedUpTo(queue, first[0])) await this.engine.projected(queue);
        if (!this.engine.appliedUpTo(queue, first[0])) {
          appliedHere = false;
          await this.catchUp(queue);
        }
        // Block next after everything applied so far (by this loop or by submits here).
        const applied = this.engine.lastApplied(queue);
        seen.set(stream, applied && compareStreamIds(applied, first[0]) > 0 ? applied : first[0]);
      }
      // Woken only by jobs this process's submits already projected (an API leading while no
      // worker is online): read again a little later rather than once per submit. Entries that
      // need applying wait at most this long; the next read returns them at once.
      if (appliedHere) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
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
    // Hand over at once rather than after the lease runs out.
    await this.lease.release();
    this.blocking.disconnect();
    await this.loop?.catch(() => {});
  }
}
