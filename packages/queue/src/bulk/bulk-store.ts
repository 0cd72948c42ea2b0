import type { Keys } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { BulkOperation } from './bulk-operation';

/** The internal BullMQ queue bulk operations run on (user queue names start with a letter). */
export const BULK_QUEUE = '_bulk';
/** How long a finished operation stays readable. */
const KEEP_SECONDS = 7 * 24 * 3600;
/** Progress entries kept: watchers follow the stream live, so only a short tail is needed. */
const PROGRESS_KEPT = 10_000;

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

  /**
   * Save the state and append it to the progress stream, together (every API process follows the
   * stream by cursor, so a dropped connection delays progress but never loses it).
   */
  async save(op: BulkOperation): Promise<void> {
    op.version++;
    const text = JSON.stringify(op);
    const key = this.keys.bulkOperation(op.id);
    const multi = this.redis.multi();
    if (op.finishedAt === null) multi.set(key, text);
    else multi.set(key, text, 'EX', KEEP_SECONDS);
    await multi.xadd(this.keys.bulkLog, 'MAXLEN', '~', PROGRESS_KEPT, '*', 'op', text).exec();
  }

  async requestCancel(id: string): Promise<void> {
    await this.redis.set(this.keys.bulkCancel(id), '1', 'EX', KEEP_SECONDS);
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.bulkCancel(id))) === 1;
  }
}
