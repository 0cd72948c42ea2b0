import type { Keys } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { BulkOperation } from './bulk-operation';

/** The internal BullMQ queue bulk operations run on (user queue names start with a letter). */
export const BULK_QUEUE = '_bulk';
/** How long a finished operation stays readable. */
const KEEP_SECONDS = 7 * 24 * 3600;

/** Where bulk operations are kept: their state, cancel requests, and their progress feed. */
export class BulkStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(id: string): Promise<BulkOperation | null> {
    const text = await this.redis.get(this.keys.bulkOperation(id));
    return text ? (JSON.parse(text) as BulkOperation) : null;
  }

  /** Save the state and announce it to every API process, together. */
  async save(op: BulkOperation): Promise<void> {
    const text = JSON.stringify(op);
    const key = this.keys.bulkOperation(op.id);
    const multi = this.redis.multi();
    if (op.finishedAt === null) multi.set(key, text);
    else multi.set(key, text, 'EX', KEEP_SECONDS);
    await multi.publish(this.keys.bulkChannel, text).exec();
  }

  async requestCancel(id: string): Promise<void> {
    await this.redis.set(this.keys.bulkCancel(id), '1', 'EX', KEEP_SECONDS);
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.bulkCancel(id))) === 1;
  }
}
