import { randomBytes } from 'node:crypto';
import { createRedis, type HandlerMap, type Logger } from '@taskplane/core';
import { type StreamEntry, StreamTail, streamLastId } from '@taskplane/events';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { retryDelay } from './backoff';
import { ControlKind, type ControlMessage, decodeControl } from './control';
import { BACKOFF_TYPE, type JobData } from './job-data';
import { MetricsKeeper } from './metrics/metrics-keeper';
import { beat, leave, PresenceKind, presenceBase, type WorkerPresence } from './presence';
import { Projector } from './projector';
import { readQueueSettings } from './queue-settings';
import { trimFinished, trimFinishedWorkflows } from './retention';
import { ScheduleStore } from './schedules/schedule-store';
import { Scheduler } from './schedules/scheduler';
import type { TaskEngine } from './task-engine';
import { AbortReason, createProcessor, RetryableAttemptError, RunningTasks } from './task-runner';

export interface WorkerHostOptions {
  engine: TaskEngine;
  handlers: HandlerMap;
  /** Queues to consume; every queue the engine knows when empty. */
  queues?: string[];
  redisUrl: string;
  logger: Logger;
  catalogueBaseUrl: string;
}

/**
 * One worker process: a BullMQ Worker per queue running Taskplane's processor, a follower of the
 * control stream (cancel, preempt, settings), a heartbeat, and a projector. Stops gracefully: no task is
 * lost.
 */
export class WorkerHost {
  readonly id = `w-${randomBytes(4).toString('hex')}`;
  private readonly engine: TaskEngine;
  private readonly logger: Logger;
  private readonly workers = new Map<string, Worker<JobData>>();
  /** BullMQ treats a connection it is handed as shared and never closes it: we do, on stop. */
  private readonly connections: Redis[] = [];
  private readonly running = new RunningTasks();
  /** Ids cancelled recently, for a cancel that arrives just before the task starts here. */
  private readonly cancelled = new Set<string>();
  private readonly queues: string[];
  private control: StreamTail | null = null;
  private projector: Projector | null = null;
  private scheduler: Scheduler | null = null;
  private metricsKeeper: MetricsKeeper | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retention: NodeJS.Timeout | null = null;
  private presence: WorkerPresence;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: WorkerHostOptions) {
    this.engine = options.engine;
    this.logger = options.logger.child({ workerId: this.id });
    this.queues = options.queues?.length ? options.queues : this.engine.queueNames();
    this.presence = {
      ...presenceBase(this.id, this.queues),
      concurrency: {},
      runningTasks: [],
      memoryRss: 0,
      lastSeenAt: Date.now(),
    };
  }

  async start(): Promise<void> {
    const { engine, logger } = this;
    const { config } = engine;
    const processor = createProcessor({
      engine,
      handlers: this.options.handlers,
      logger,
      settings: {
        catalogueBaseUrl: this.options.catalogueBaseUrl,
        requestTimeoutMs: config.catalogue.request_timeout,
      },
      cancelled: this.cancelled,
      running: this.running,
    });
    // Where control messages start for this process, taken before the settings are read: a change
    // made in between is then both in what we read and in the stream, never in neither.
    const controlFrom = await streamLastId(engine.redis, engine.keys.controlLog);
    for (const queue of this.queues) {
      const settings = await readQueueSettings(engine.redis, engine.keys, config, queue);
      await engine.applyLimits(queue, settings);
      const connection = createRedis({
        url: this.options.redisUrl,
        role: 'worker',
        name: `${this.id}:${queue}`,
      });
      this.connections.push(connection);
      const worker = new Worker<JobData>(queue, processor, {
        connection,
        prefix: engine.keys.bullPrefix,
        concurrency: settings.concurrency,
        name: this.id,
        lockDuration: config.workers.lock_duration,
        stalledInterval: config.workers.stalled_interval,
        maxStalledCount: 1,
        settings: {
          backoffStrategy: (attemptsMade, type, error, job) => {
            if (type !== BACKOFF_TYPE) return 0;
            const data = job?.data as JobData | undefined;
            const backoff = data?.backoff ?? {
              baseDelayMs: config.retry.base_delay,
              maxDelayMs: config.retry.max_delay,
              jitter: config.retry.jitter,
            };
            const retryAfter = error instanceof RetryableAttemptError ? error.retryAfterMs : undefined;
            return retryDelay(attemptsMade, backoff, retryAfter);
          },
        },
      });
      worker.on('error', (error) => logger.error({ err: error, queue }, 'worker error'));
      this.workers.set(queue, worker);
    }
    this.listen(controlFrom);
    this.projector = new Projector(
      engine,
      createRedis({ url: this.options.redisUrl, role: 'worker', name: `${this.id}:projector` }),
      logger,
    );
    this.projector.start();
    // Every worker and API process runs a scheduler; the lease holder fires (see Scheduler).
    this.scheduler = new Scheduler({ engine, store: ScheduleStore.of(engine), logger });
    this.scheduler.start();
    // Likewise the metrics keeper: the lease holder samples gauges and folds minutes into hours.
    this.metricsKeeper = new MetricsKeeper(engine, logger);
    this.metricsKeeper.start();
    await this.beat(PresenceKind.Online);
    this.heartbeat = setInterval(
      () => void this.beat(PresenceKind.Heartbeat),
      config.workers.heartbeat_interval,
    );
    this.retention = setInterval(() => void this.trim(), config.retention.interval);
    logger.info({ queues: this.queues }, 'worker started');
  }

  /**
   * Follow the control stream after `fromId`. A tail resumes from its last id after any reconnect,
   * so a cancel or a settings change sent while the connection was down arrives late, not never.
   */
  private listen(fromId: string): void {
    this.control = new StreamTail({
      redisUrl: this.options.redisUrl,
      name: `${this.id}:control`,
      logger: this.logger,
    });
    this.control.follow(this.engine.keys.controlLog, fromId, (entries: StreamEntry[]) => {
      for (const [, fields] of entries) {
        const message = decodeControl(fields);
        if (message) this.onControl(message);
      }
    });
  }

  private onControl(message: ControlMessage): void {
    const { engine, logger } = this;
    if (message.kind === ControlKind.Cancel) {
      this.cancelled.add(message.taskId);
      setTimeout(() => this.cancelled.delete(message.taskId), 60_000).unref();
      if (this.running.abort(message.taskId, `${AbortReason.CancelPrefix}${message.reason}`)) {
        logger.info({ taskId: message.taskId }, 'cancelled a running task');
      }
    } else if (message.kind === ControlKind.Preempt) {
      if (this.running.abort(message.taskId, AbortReason.Preempt)) {
        logger.info({ taskId: message.taskId, by: message.by }, 'preempted a running task');
      }
    } else if (message.kind === ControlKind.Settings) {
      const worker = this.workers.get(message.queue);
      if (!worker) return;
      void readQueueSettings(engine.redis, engine.keys, engine.config, message.queue)
        .then((settings) => {
          worker.concurrency = settings.concurrency;
          logger.info({ queue: message.queue, concurrency: settings.concurrency }, 'queue settings changed');
          return this.beat(PresenceKind.Heartbeat);
        })
        .catch((error: unknown) =>
          logger.warn({ err: error, queue: message.queue }, 'reading queue settings failed'),
        );
    }
  }

  private async beat(kind: PresenceKind): Promise<void> {
    this.presence = {
      ...this.presence,
      concurrency: Object.fromEntries([...this.workers].map(([q, w]) => [q, w.concurrency])),
      runningTasks: this.running.ids(),
      memoryRss: process.memoryUsage.rss(),
      lastSeenAt: Date.now(),
    };
    try {
      await beat(
        this.engine.redis,
        this.engine.keys,
        this.presence,
        this.engine.config.workers.heartbeat_interval * 3,
        kind,
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  private async trim(): Promise<void> {
    try {
      const removed = await trimFinished(this.engine);
      if (removed) this.logger.info({ removed }, 'trimmed finished task records');
      const workflows = await trimFinishedWorkflows(this.engine);
      if (workflows) this.logger.info({ removed: workflows }, 'trimmed finished workflows');
    } catch (error) {
      this.logger.warn({ err: error }, 'retention trim failed');
    }
  }

  /**
   * Stop taking tasks, give running ones `shutdown_timeout` to finish, then abort the rest and
   * hand them back to the queue so another worker runs them. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const timeoutMs = this.engine.config.workers.shutdown_timeout;
    this.logger.info({ running: this.running.size, timeoutMs }, 'worker stopping');
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retention) clearInterval(this.retention);
    await this.scheduler?.stop();
    await this.metricsKeeper?.stop();
    const closing = Promise.all([...this.workers.values()].map((w) => w.close()));
    const timer = setTimeout(() => {
      this.logger.warn({ running: this.running.ids() }, 'shutdown timeout: handing running tasks back');
      this.running.abortAll(AbortReason.Shutdown);
    }, timeoutMs);
    await closing;
    for (const connection of this.connections) connection.disconnect();
    clearTimeout(timer);
    await this.projector?.stop();
    await this.control?.stop();
    await leave(this.engine.redis, this.engine.keys, this.presence).catch(() => {});
    this.logger.info('worker stopped');
  }
}
