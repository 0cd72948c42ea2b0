import { randomBytes } from 'node:crypto';
import type { Logger } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { TaskEngine } from './task-engine';

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

const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

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
  private readonly owner = randomBytes(8).toString('hex');
  private leader = false;
  private renewal: NodeJS.Timeout | null = null;
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
  }

  /** Whether this process applies BullMQ's events now. */
  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async acquire(): Promise<boolean> {
    const { redis, keys } = this.engine;
    if (await this.standbyWhile()) return false;
    const taken = await redis.set(keys.projectorLease, this.owner, 'PX', this.leaseMs, 'NX');
    if (taken !== 'OK') return false;
    this.leader = true;
    this.renewal = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.logger.info({ owner: this.owner }, 'projector: this process now applies BullMQ events');
    return true;
  }

  private async renew(): Promise<void> {
    try {
      const kept = await this.engine.redis.eval(
        RENEW_LUA,
        1,
        this.engine.keys.projectorLease,
        this.owner,
        this.leaseMs,
      );
      if (kept !== 1) this.demote('lease lost');
      else if (await this.standbyWhile()) await this.release('a better-placed process is online');
    } catch (error) {
      this.logger.warn({ err: error }, 'projector: could not renew the lease');
    }
  }

  /** Give the lead up at once (another process takes it within its `retryMs`). */
  private async release(why: string): Promise<void> {
    this.demote(why, 'info');
    await this.engine.redis.eval(RELEASE_LUA, 1, this.engine.keys.projectorLease, this.owner);
  }

  private demote(why: string, level: 'info' | 'warn' = 'warn'): void {
    if (!this.leader) return;
    this.leader = false;
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    this.logger[level]({ why }, 'projector: no longer the leader');
  }

  /** Every queue the engine knows: whichever process leads projects them all. */
  private get queues(): string[] {
    return this.engine.queueNames();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!this.leader && !(await this.acquire())) {
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
    while (this.running && this.leader) {
      const reply = (await this.blocking.xread(
        'COUNT',
        1000,
        'BLOCK',
        Math.min(2000, this.leaseMs),
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
    const wasLeader = this.leader;
    this.demote('stopping');
    this.blocking.disconnect();
    await this.loop?.catch(() => {});
    // Hand over at once rather than after the lease runs out.
    if (wasLeader)
      await this.engine.redis
        .eval(RELEASE_LUA, 1, this.engine.keys.projectorLease, this.owner)
        .catch(() => {});
  }
}
