import {
  ConflictError,
  createRedis,
  type Logger,
  NotFoundError,
  TaskplaneError,
  type TaskStatus,
} from '@taskplane/core';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeleteOutcome, TaskEngine } from '../task-engine';
import { BulkKind, type BulkOperation, BulkState } from './bulk-operation';
import { BULK_QUEUE, type BulkStore } from './bulk-store';

/** Tasks per batch: the most a runner holds in memory, and the most a crash makes it redo. */
export const BULK_BATCH = 200;
const MAX_ERRORS = 20;

/** What happened to one task of a batch. */
type Outcome = 'succeeded' | 'skipped' | { failed: string };

export interface BulkJobData {
  /** The operation as it was started, for a runner that finds it not yet saved. */
  operation: BulkOperation;
}

/**
 * Runs bulk operations as jobs of an internal BullMQ queue, one job per operation. The walk goes a
 * batch at a time: list the next page after the saved cursor, save it as the batch at hand, act on
 * it, save the counters and the new cursor. A runner that dies mid-batch leaves the job to BullMQ's
 * stalled-job recovery; the next runner redoes the saved batch (each action is refused by the
 * record's own script when it was already applied, and counted as done), so every task is handled
 * once and the counters come out exact.
 */
export class BulkRunner {
  private worker: Worker<BulkJobData> | null = null;
  private connection: Redis | null = null;

  constructor(
    private readonly engine: TaskEngine,
    private readonly store: BulkStore,
    private readonly redisUrl: string,
    private readonly logger: Logger,
    /** How long a dead runner's operation waits before another takes it over (lock + stall check). */
    private readonly lockMs = 10_000,
  ) {}

  start(): void {
    this.connection = createRedis({ url: this.redisUrl, role: 'worker', name: 'bulk-runner' });
    this.worker = new Worker<BulkJobData>(BULK_QUEUE, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.engine.keys.bullPrefix,
      concurrency: 2,
      lockDuration: this.lockMs,
      stalledInterval: Math.max(1000, Math.floor(this.lockMs / 2)),
      // An operation resumes from its saved cursor however often its runner dies.
      maxStalledCount: 1000,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'bulk runner error'));
  }

  private async process(job: Job<BulkJobData>): Promise<void> {
    const op = (await this.store.get(job.data.operation.id)) ?? job.data.operation;
    if (op.state !== BulkState.Running) return;
    try {
      await this.walk(op);
    } catch (error) {
      this.logger.error({ err: error, op: op.id }, 'bulk operation failed');
      op.state = BulkState.Failed;
      op.finishedAt = Date.now();
      await this.store.save(op);
    }
  }

  private async walk(op: BulkOperation): Promise<void> {
    for (;;) {
      if (await this.store.cancelRequested(op.id)) {
        op.state = BulkState.Cancelled;
        break;
      }
      const redo = op.batch.length > 0;
      if (!redo) {
        const page = await this.engine.store.list(op.filter, { first: BULK_BATCH, after: op.cursor });
        op.batch = page.tasks.map((t) => t.id);
        op.nextCursor = page.nextCursor;
        if (op.batch.length === 0) {
          op.cursor = op.nextCursor;
          if (op.cursor === null) break;
          continue;
        }
        await this.store.save(op);
      }
      const outcomes = await this.act(op, op.batch, redo);
      outcomes.forEach((outcome, i) => {
        if (outcome === 'succeeded') op.succeeded++;
        else if (outcome === 'skipped') op.skipped++;
        else {
          op.failed++;
          if (op.errors.length < MAX_ERRORS)
            op.errors.push({ taskId: op.batch[i]!, message: outcome.failed });
        }
      });
      op.processed += op.batch.length;
      op.batch = [];
      op.cursor = op.nextCursor;
      if (op.cursor === null) break;
      await this.store.save(op);
    }
    if (op.state === BulkState.Running) op.state = BulkState.Done;
    op.finishedAt = Date.now();
    await this.store.save(op);
  }

  /**
   * Apply the operation to one batch. On a redo (the runner died mid-batch), a task its action
   * finds already done (gone, requeued, cancelled) was done by the runner that died: it counts as
   * succeeded, not skipped.
   */
  private async act(op: BulkOperation, ids: string[], redo: boolean): Promise<Outcome[]> {
    const already: Outcome = redo ? 'succeeded' : 'skipped';
    switch (op.kind) {
      case BulkKind.PurgeDeadLetters:
      case BulkKind.CleanQueue: {
        const outcomes = await this.engine.deleteTasks(ids, {
          statuses: (op.filter.status ?? []) as TaskStatus[],
          ...(op.filter.finishedBefore !== undefined ? { finishedBefore: op.filter.finishedBefore } : {}),
        });
        return outcomes.map((o: DeleteOutcome) =>
          o === 'deleted' ? 'succeeded' : o === 'missing' ? already : 'skipped',
        );
      }
      case BulkKind.RequeueDeadLetters:
        return await this.each(ids, already, (id) => this.engine.retry(id, { from: ['dead_lettered'] }));
      case BulkKind.CancelTasks:
        return await this.each(ids, already, (id) => this.engine.cancel(id, 'cancelled in bulk'));
    }
  }

  /** One action per task, a few at a time; "no longer applies" errors are `already`. */
  private async each(
    ids: string[],
    already: Outcome,
    action: (id: string) => Promise<unknown>,
  ): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array(ids.length);
    const lanes = 8;
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < ids.length) {
          const i = next++;
          try {
            await action(ids[i]!);
            outcomes[i] = 'succeeded';
          } catch (error) {
            if (error instanceof ConflictError || error instanceof NotFoundError) outcomes[i] = already;
            else if (error instanceof TaskplaneError) outcomes[i] = { failed: error.message };
            else throw error;
          }
        }
      }),
    );
    return outcomes;
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
