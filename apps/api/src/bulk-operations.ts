import { randomBytes } from 'node:crypto';
import {
  createRedis,
  type Keys,
  type Logger,
  NotFoundError,
  type Task,
  type TaskFilter,
} from '@taskplane/core';
import type { TaskEngine } from '@taskplane/queue';
import type { Redis } from 'ioredis';
import { Broadcast, type Feed } from './feed';

/** Wire-level kinds and states of bulk operations. */
export const BulkKind = {
  CancelTasks: 'cancel_tasks',
  RequeueDeadLetters: 'requeue_dead_letters',
  PurgeDeadLetters: 'purge_dead_letters',
  CleanQueue: 'clean_queue',
} as const;
export type BulkKind = (typeof BulkKind)[keyof typeof BulkKind];
export const BulkState = {
  Running: 'running',
  Done: 'done',
  Cancelled: 'cancelled',
  Failed: 'failed',
} as const;
export type BulkState = (typeof BulkState)[keyof typeof BulkState];

export interface BulkOperation {
  id: string;
  kind: BulkKind;
  state: BulkState;
  filter: TaskFilter;
  total: number;
  processed: number;
  succeeded: number;
  failed: number;
  /** The first few failures, with why. */
  errors: { taskId: string; message: string }[];
  startedAt: number;
  finishedAt: number | null;
}

export interface BulkPreview {
  count: number;
  sample: Task[];
}

const PROGRESS_EVERY = 25;
const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * Operations over every task matching a filter. The state lives in Redis so any API process can
 * report and cancel it; progress is published so any API process can push it to subscribers.
 */
export class BulkOperations {
  private readonly broadcasts = new Map<string, Broadcast<BulkOperation>>();
  private subscriber: Redis | null = null;

  constructor(
    private readonly engine: TaskEngine,
    private readonly redis: Redis,
    private readonly redisUrl: string,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.subscriber = createRedis({ url: this.redisUrl, role: 'subscriber', name: 'bulk' });
    this.subscriber.on('message', (_channel: string, text: string) => {
      const op = JSON.parse(text) as BulkOperation;
      this.broadcasts.get(op.id)?.publish(op);
    });
    await this.subscriber.subscribe(this.keys.bulkChannel);
  }

  async preview(filter: TaskFilter): Promise<BulkPreview> {
    const [count, page] = await Promise.all([
      this.engine.store.count(filter),
      this.engine.store.list(filter, { first: 10 }),
    ]);
    return { count, sample: page.tasks };
  }

  async get(id: string): Promise<BulkOperation | null> {
    const text = await this.redis.get(this.keys.bulkOperation(id));
    return text ? (JSON.parse(text) as BulkOperation) : null;
  }

  /** Ask a running operation to stop after the task at hand. */
  async cancel(id: string): Promise<BulkOperation> {
    const op = await this.get(id);
    if (!op) throw new NotFoundError(`no bulk operation with id ${id}`);
    if (op.state === BulkState.Running) await this.redis.set(this.keys.bulkCancel(id), '1', 'EX', 3600);
    return op;
  }

  private async save(op: BulkOperation): Promise<void> {
    const text = JSON.stringify(op);
    await this.redis
      .multi()
      .set(this.keys.bulkOperation(op.id), text, 'EX', KEEP_SECONDS)
      .publish(this.keys.bulkChannel, text)
      .exec();
  }

  /** Start applying `action` to every matching task; returns at once with the operation. */
  async run(
    kind: BulkKind,
    filter: TaskFilter,
    action: (task: Task) => Promise<void>,
  ): Promise<BulkOperation> {
    const op: BulkOperation = {
      id: `bulk_${randomBytes(6).toString('hex')}`,
      kind,
      state: BulkState.Running,
      filter,
      total: await this.engine.store.count(filter),
      processed: 0,
      succeeded: 0,
      failed: 0,
      errors: [],
      startedAt: Date.now(),
      finishedAt: null,
    };
    await this.save(op);
    void this.execute(op, action);
    return op;
  }

  private async execute(op: BulkOperation, action: (task: Task) => Promise<void>): Promise<void> {
    const cancelKey = this.keys.bulkCancel(op.id);
    try {
      // Collect ids first: acting on tasks moves them between indexes while we walk one.
      const tasks: Task[] = [];
      await this.engine.forEachMatching(op.filter, async (task) => {
        tasks.push(task);
      });
      op.total = tasks.length;
      for (const task of tasks) {
        if (op.processed % PROGRESS_EVERY === 0) {
          if (await this.redis.exists(cancelKey)) {
            op.state = BulkState.Cancelled;
            break;
          }
          await this.save(op);
        }
        try {
          await action(task);
          op.succeeded++;
        } catch (error) {
          op.failed++;
          if (op.errors.length < 20) op.errors.push({ taskId: task.id, message: (error as Error).message });
        }
        op.processed++;
      }
      if (op.state === BulkState.Running) op.state = BulkState.Done;
    } catch (error) {
      this.logger.error({ err: error, op: op.id }, 'bulk operation failed');
      op.state = BulkState.Failed;
    }
    op.finishedAt = Date.now();
    await this.save(op).catch((error) => this.logger.error({ err: error }, 'could not save bulk operation'));
  }

  /** The operation now, then on every progress update, until it ends. */
  async *watch(id: string): AsyncGenerator<BulkOperation> {
    let broadcast = this.broadcasts.get(id);
    if (!broadcast) {
      broadcast = new Broadcast();
      this.broadcasts.set(id, broadcast);
    }
    const feed: Feed<BulkOperation> = broadcast.subscribe();
    try {
      const now = await this.get(id);
      if (!now) throw new NotFoundError(`no bulk operation with id ${id}`);
      yield now;
      if (now.state !== BulkState.Running) return;
      for await (const op of feed) {
        yield op;
        if (op.state !== BulkState.Running) return;
      }
    } finally {
      feed.close();
      if (broadcast.size === 0) this.broadcasts.delete(id);
    }
  }

  async stop(): Promise<void> {
    for (const b of this.broadcasts.values()) b.closeAll();
    this.subscriber?.disconnect();
  }
}
