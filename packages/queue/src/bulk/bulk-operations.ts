import { randomBytes } from 'node:crypto';
import { type Keys, type Logger, NotFoundError, type Task, type TaskFilter } from '@taskplane/core';
import { StreamTail, streamLastId } from '@taskplane/events';
import { Queue } from 'bullmq';
import type { TaskEngine } from '../task-engine';
import { type BulkKind, type BulkOperation, BulkState } from './bulk-operation';
import type { BulkJobData } from './bulk-runner';
import { BULK_QUEUE, BulkStore } from './bulk-store';

export interface BulkPreview {
  /** How many tasks match; a lower bound when `exact` is false. */
  count: number;
  exact: boolean;
  sample: Task[];
}

type Listener = (op: BulkOperation) => void;

/**
 * Start, read, cancel and watch bulk operations from any API process. Starting one adds a job to
 * the internal queue that `BulkRunner`s take; its state lives in Redis, so it outlives the process
 * that started it.
 */
export class BulkOperations {
  readonly store: BulkStore;
  private readonly queue: Queue;
  private readonly listeners = new Map<string, Set<Listener>>();
  private tail: StreamTail | null = null;

  constructor(
    private readonly engine: TaskEngine,
    private readonly redisUrl: string,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {
    this.store = new BulkStore(engine.redis, keys);
    this.queue = new Queue(BULK_QUEUE, { connection: engine.redis, prefix: keys.bullPrefix });
    this.queue.on('error', (error) => this.logger.error({ err: error }, 'bulk queue error'));
  }

  async start(): Promise<void> {
    this.tail = new StreamTail({
      redisUrl: this.redisUrl,
      name: `${this.keys.prefix}:bulk-tail`,
      logger: this.logger,
    });
    this.tail.follow(
      this.keys.bulkLog,
      await streamLastId(this.engine.redis, this.keys.bulkLog),
      (entries) => {
        for (const [, fields] of entries) {
          const text = fields[fields.indexOf('op') + 1];
          if (!text) continue;
          const op = JSON.parse(text) as BulkOperation;
          for (const listener of this.listeners.get(op.id) ?? []) listener(op);
        }
      },
    );
  }

  async preview(filter: TaskFilter): Promise<BulkPreview> {
    const [count, page] = await Promise.all([
      this.engine.store.count(filter),
      this.engine.store.list(filter, { first: 10 }),
    ]);
    return { count: count.count, exact: count.exact, sample: page.tasks };
  }

  get(id: string): Promise<BulkOperation | null> {
    return this.store.get(id);
  }

  /** Ask a running operation to stop after the batch at hand. */
  async cancel(id: string): Promise<BulkOperation> {
    const op = await this.store.get(id);
    if (!op) throw new NotFoundError(`no bulk operation with id ${id}`);
    if (op.state === BulkState.Running) await this.store.requestCancel(id);
    return op;
  }

  /** Start an operation over every task matching `filter`; returns at once. */
  async run(kind: BulkKind, filter: TaskFilter): Promise<BulkOperation> {
    const { count, exact } = await this.engine.store.count(filter);
    const op: BulkOperation = {
      id: `bulk_${randomBytes(6).toString('hex')}`,
      kind,
      state: BulkState.Running,
      filter,
      total: count,
      totalExact: exact,
      processed: 0,
      succeeded: 0,
      skipped: 0,
      failed: 0,
      errors: [],
      startedAt: Date.now(),
      finishedAt: null,
      version: 0,
      cursor: null,
      nextCursor: null,
      batch: [],
    };
    // The job carries the operation, so a crash before the save below still leaves stored work.
    const data: BulkJobData = { operation: op };
    await this.queue.add(kind, data, { jobId: op.id, removeOnComplete: true, removeOnFail: 1000 });
    await this.store.save(op);
    return op;
  }

  /** The operation now, then on every progress update, until it ends. */
  async *watch(id: string): AsyncGenerator<BulkOperation> {
    const pending: BulkOperation[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (op) => {
      // Only the newest state matters: a slow watcher skips to it.
      pending.length = 0;
      pending.push(op);
      wake?.();
    };
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    try {
      const now = await this.store.get(id);
      if (!now) throw new NotFoundError(`no bulk operation with id ${id}`);
      yield now;
      let last = now;
      while (last.state === BulkState.Running) {
        if (pending.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        const op = pending.shift();
        if (!op || op.version <= last.version) continue;
        last = op;
        yield op;
      }
    } finally {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    }
  }

  async stop(): Promise<void> {
    await this.tail?.stop();
    await this.queue.close();
  }
}
