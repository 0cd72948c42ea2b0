import { randomBytes } from 'node:crypto';
import type { Logger } from '@taskplane/core';
import type { Redis } from 'ioredis';

const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A lease in Redis held by one process at a time (the projector and the scheduler each have one):
 * taken with SET NX PX, renewed at a third of its length while held, released on stop so a
 * successor need not wait. `onRenew` runs after each renewal that kept the lease (a holder can
 * decide there to step down).
 */
export class LeaderLease {
  readonly owner = randomBytes(8).toString('hex');
  private held = false;
  private renewal: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly what: string,
    private readonly onRenew: () => Promise<void> = async () => {},
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** Take the lease if it is free; true when this process holds it (now or already). */
  async acquire(): Promise<boolean> {
    if (this.held) return true;
    const taken = await this.redis.set(this.key, this.owner, 'PX', this.leaseMs, 'NX');
    if (taken !== 'OK') return false;
    this.held = true;
    this.renewal = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.logger.info({ owner: this.owner }, `${this.what}: this process now leads`);
    return true;
  }

  private async renew(): Promise<void> {
    try {
      const kept = await this.redis.eval(RENEW_LUA, 1, this.key, this.owner, this.leaseMs);
      if (kept !== 1) this.drop('lease lost');
      else await this.onRenew();
    } catch (error) {
      this.logger.warn({ err: error }, `${this.what}: could not renew the lease`);
    }
  }

  private drop(why: string, level: 'info' | 'warn' = 'warn'): void {
    if (!this.held) return;
    this.held = false;
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    this.logger[level]({ why }, `${this.what}: no longer the leader`);
  }

  /** Stop renewing and hand the lease over at once (another process takes it on its next try). */
  async release(why = 'stopping'): Promise<void> {
    const was = this.held;
    this.drop(why, 'info');
    if (was) await this.redis.eval(RELEASE_LUA, 1, this.key, this.owner).catch(() => {});
  }
}
