import {
  type AggregatedResult,
  CancelledError,
  type ChildOutcome,
  type FanOutOptions,
  type HandlerContext,
  type HandlerMap,
  type Logger,
  MAX_AGGREGATED_RESULTS,
  PermanentError,
  PRIORITY_MIN,
  type Product,
  type TaskInput,
  TimeoutError,
  TransientError,
} from '@taskplane/core';
import { type Job, UnrecoverableError, WaitingChildrenError, WaitingError } from 'bullmq';
import { classify, decodeFailure, encodeFailure } from './classify';
import type { JobData } from './job-data';
import { recordArgs } from './scripts';
import type { TaskEngine } from './task-engine';

/** Abort reasons the worker host gives BullMQ's `cancelJob`; wire-level between host and runner. */
export const AbortReason = {
  Shutdown: 'taskplane:shutdown',
  /** A more urgent task takes this one's slot: handed back like a shutdown's. */
  Preempt: 'taskplane:preempt',
  CancelPrefix: 'taskplane:cancel:',
} as const;

/** Thrown by `ctx.fanOut` to end the run while the children work. */
class FanOut extends Error {
  constructor(readonly waiting: boolean) {
    super('fan-out');
  }
}

/**
 * A child under `fail_parent` failed before its parent could wait for it: BullMQ refuses the wait
 * and the parent fails here, with the reason BullMQ gives a parent it fails itself ("child <job
 * key> failed", see `bullFailedChild` in scripts/bull.lua), so the projection reads both alike.
 */
class ChildFailed extends Error {
  constructor(childKey: string) {
    super(`child ${childKey} failed`);
  }
}

/** A failure BullMQ should retry with backoff; carries the server's Retry-After to the strategy. */
export class RetryableAttemptError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'RetryableAttemptError';
  }
}

export interface RunnerOptions {
  engine: TaskEngine;
  handlers: HandlerMap;
  logger: Logger;
  settings: HandlerContext['settings'];
  /** Ids cancelled while not yet running here; checked before a handler starts. */
  cancelled: Set<string>;
  /** The runs in progress, for the host to abort one (cancel, preempt) or all (shutdown). */
  running: RunningTasks;
}

const LOG_FLUSH_MS = 100;

/** Buffers a task's log lines and writes them in one script call per flush. */
class TaskLog {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private projected = false;
  constructor(
    private readonly engine: TaskEngine,
    private readonly id: string,
    private readonly queue: string,
  ) {}

  push(line: string): void {
    this.lines.push(line.slice(0, 4000));
    this.timer ??= setTimeout(() => void this.flush(), LOG_FLUSH_MS);
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    const { keys, redis, config } = this.engine;
    // Log events go straight to the log; make sure the task's 'started' (projected from BullMQ's
    // stream) is in it first, so a reader never sees a line before the start it belongs to.
    if (!this.projected) {
      await this.engine.project(this.queue);
      this.projected = true;
    }
    await redis.tpAppendLog(
      keys.events,
      keys.taskLog(this.id),
      ...recordArgs(keys, config.events.stream_max_len),
      this.id,
      Date.now(),
      1000,
      ...lines,
    );
  }
}

/**
 * BullMQ stores `error.stack` once per failed attempt; ours holds just the encoded failure, so the
 * projector can read each attempt's error and no stack trace reaches clients.
 */
function bare<E extends Error>(error: E): E {
  error.stack = error.message;
  return error;
}

/**
 * A parent's result from its children's outcomes, when its handler returned nothing after a
 * fan-out. Children that failed under `ignore` are not among the outcomes: they are the ones
 * submitted and not accounted for.
 */
export function aggregateOutcomes(outcomes: ChildOutcome[], submitted: number): AggregatedResult {
  const results: Record<string, unknown> = {};
  let succeeded = 0;
  for (const outcome of outcomes) {
    if (outcome.status !== 'success') continue;
    succeeded++;
    if (succeeded <= MAX_AGGREGATED_RESULTS) results[outcome.id] = outcome.result;
  }
  const ignored = Math.max(0, submitted - outcomes.length);
  return {
    total: outcomes.length + ignored,
    succeeded,
    failed: outcomes.length - succeeded,
    ignored,
    results,
    truncated: succeeded > MAX_AGGREGATED_RESULTS,
  };
}

/**
 * What a parent's children ended as, from BullMQ's record of them: their results and, under
 * `continue`, their failures. Null when the task has not fanned out.
 */
async function readChildOutcomes(job: Job<JobData>): Promise<ChildOutcome[] | null> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const outcomes: ChildOutcome[] = [
    ...Object.entries(values).map(([key, result]) => ({
      id: key.slice(key.lastIndexOf(':') + 1),
      status: 'success' as const,
      result,
      error: null,
    })),
    ...Object.entries(failures).map(([key, reason]) => {
      const failure = decodeFailure(reason);
      return {
        id: key.slice(key.lastIndexOf(':') + 1),
        status: 'failed' as const,
        result: null,
        error: failure
          ? { code: failure.code as never, message: failure.message, retryable: failure.retryable }
          : { code: 'TRANSIENT' as const, message: String(reason), retryable: true },
      };
    }),
  ];
  // Jobs that fanned out before the `fannedOut` mark existed are told apart by having outcomes.
  return outcomes.length > 0 || job.data.fannedOut ? outcomes : null;
}

/**
 * The tasks running in this process. The host aborts them through here (a cancel, a preemption,
 * the end of a graceful shutdown) instead of through BullMQ's per-job AbortController: BullMQ makes
 * one only for a processor that takes a signal, and a no-op task's run paid for two controllers and
 * their listeners (issue 10's worker profile). A task gets a signal only when its handler reads it.
 */
export class RunningTasks {
  private readonly runs = new Map<string, TaskRun>();

  get size(): number {
    return this.runs.size;
  }

  ids(): string[] {
    return [...this.runs.keys()];
  }

  /** Aborts the run of task `id` with `reason`; false when it does not run here. */
  abort(id: string, reason: unknown): boolean {
    const run = this.runs.get(id);
    run?.abort(reason);
    return run !== undefined;
  }

  abortAll(reason: unknown): void {
    for (const run of this.runs.values()) run.abort(reason);
  }

  /** @internal */
  add(run: TaskRun): void {
    this.runs.set(run.taskId, run);
  }

  /** @internal */
  delete(run: TaskRun): void {
    if (this.runs.get(run.taskId) === run) this.runs.delete(run.taskId);
  }
}

/** Why a run stopped early; `undefined` while it has not been aborted. */
type AbortCause = unknown;

/**
 * One run of a task: the handler's context and the run's abort. A class rather than an object of
 * closures, because it is made once per task on the worker's hot path; its methods need `this`, so
 * a handler calls them on the context (`ctx.log(...)`), as every handler here does.
 */
class TaskRun implements HandlerContext {
  readonly taskId: string;
  readonly type: string;
  readonly queue: string;
  readonly maxAttempts: number;
  readonly labels: Record<string, string>;
  private controller: AbortController | null = null;
  private cause: AbortCause = undefined;
  private rejectRun: ((reason: unknown) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  // Made when the handler logs a line: most no-op and fast handlers never do.
  private taskLog: TaskLog | null = null;
  // A child logger per task only for handlers that use one.
  private taskLogger: Logger | null = null;
  private outcomesRead: Promise<ChildOutcome[] | null> | null = null;

  constructor(
    private readonly job: Job<JobData>,
    private readonly token: string | undefined,
    readonly attempt: number,
    private readonly options: RunnerOptions,
  ) {
    this.taskId = job.id!;
    this.type = job.name;
    this.queue = job.queueName;
    this.maxAttempts = job.opts.attempts ?? 1;
    this.labels = job.data.labels;
  }

  get settings(): HandlerContext['settings'] {
    return this.options.settings;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cause !== undefined) this.controller.abort(this.cause);
    }
    return this.controller.signal;
  }

  /** Why the run was aborted (a reason string or a TimeoutError), or undefined. */
  get abortCause(): AbortCause {
    return this.cause;
  }

  get logger(): Logger {
    this.taskLogger ??= this.options.logger.child({ taskId: this.taskId, type: this.type });
    return this.taskLogger;
  }

  /** Ends the run with `reason` (first abort wins); the handler learns through `signal`. */
  abort(reason: unknown): void {
    if (this.cause !== undefined) return;
    this.cause = reason;
    this.controller?.abort(reason);
    this.rejectRun?.(reason);
  }

  private static onTimeout(run: TaskRun): void {
    run.abort(new TimeoutError(`attempt ran longer than ${run.job.data.timeoutMs} ms`));
  }

  /** Runs the handler until it settles or the run is aborted, whichever comes first. */
  run(handler: HandlerMap[string]): Promise<unknown> {
    this.timer = setTimeout(TaskRun.onTimeout, this.job.data.timeoutMs, this);
    return new Promise((resolve, reject) => {
      this.rejectRun = reject;
      handler(this.job.data.params, this).then(resolve, reject);
    });
  }

  /** Clears the timeout and writes the log lines still buffered. */
  async end(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.rejectRun = null;
    await this.taskLog
      ?.flush()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not write log lines'));
  }

  log(message: string): void {
    this.taskLog ??= new TaskLog(this.options.engine, this.taskId, this.queue);
    this.taskLog.push(message);
  }

  async progress(percent: number): Promise<void> {
    await this.job.updateProgress(Math.max(0, Math.min(100, Math.round(percent))));
  }

  async storeProducts(products: Product[]): Promise<number> {
    if (products.length === 0) return 0;
    const { redis, keys } = this.options.engine;
    await redis.hset(keys.products, Object.fromEntries(products.map((p) => [p.id, JSON.stringify(p)])));
    return products.length;
  }

  childOutcomes(): Promise<ChildOutcome[] | null> {
    this.outcomesRead ??= readChildOutcomes(this.job);
    return this.outcomesRead;
  }

  async fanOut(children: TaskInput[], fanOptions: FanOutOptions = {}): Promise<never> {
    const { job } = this;
    const policy = fanOptions.onChildFailure ?? job.data.onChildFailure ?? 'continue';
    // The design's rule: children one below their parent, so a big fan-out does not crowd out
    // work submitted at the parent's own priority.
    const priority = Math.max(PRIORITY_MIN, job.data.priority - 1);
    const outcomes = await this.options.engine.submitMany(
      children.map((child) => (child.priority === undefined ? { ...child, priority } : child)),
      { parent: { id: this.taskId, queue: this.queue, onChildFailure: policy } },
    );
    const bad = outcomes.findIndex((o) => !o.ok);
    if (bad >= 0) {
      const outcome = outcomes[bad] as { ok: false; error: Error };
      throw new PermanentError(`child ${bad} is invalid: ${outcome.error.message}`);
    }
    // Marks the next run as the one after a fan-out even when no outcome is left to read (every
    // child failed under `ignore`), and says how many children there were.
    await job.updateData({ ...job.data, fannedOut: { policy, count: children.length } });
    let waiting: boolean;
    try {
      waiting = await job.moveToWaitingChildren(this.token!);
    } catch (error) {
      if (policy !== 'fail_parent') throw error;
      const { failed } = await job.getDependencies({ failed: { count: 1 } });
      if (!failed?.[0]) throw error;
      throw new ChildFailed(failed[0]);
    }
    throw new FanOut(waiting);
  }
}

/**
 * The BullMQ processor: runs a task's handler with a context, a timeout and an abort, and turns
 * the outcome into what BullMQ should do next (complete, retry, fail for good, hand back). It takes
 * no third (signal) parameter on purpose: see `RunningTasks`.
 */
export function createProcessor(options: RunnerOptions) {
  const { engine, handlers } = options;

  return async function process(job: Job<JobData>, token: string | undefined): Promise<unknown> {
    const id = job.id!;
    const attempt = Math.max(1, job.attemptsStarted);
    // The retry budget counts failed attempts, as BullMQ's own retry does (`attemptsMade`), not
    // started ones: a run handed back by a stopping worker started but did not use an attempt.
    const lastAttempt = job.attemptsMade + 1 >= job.opts.attempts!;
    const fail = (error: Error) => {
      const classified = classify(error);
      const message = encodeFailure(classified, attempt);
      if (!classified.retryable || lastAttempt) return bare(new UnrecoverableError(message));
      return bare(
        new RetryableAttemptError(
          message,
          classified instanceof TransientError ? classified.retryAfterMs : undefined,
        ),
      );
    };
    // A cancel reaches running tasks through the control channel. A task that comes back after its
    // worker died (a later attempt) may have been cancelled meanwhile, with nobody to hear it: check
    // its record then. First attempts of cancelled tasks were removed from the queue and cost no
    // round trip here.
    const cancelled =
      options.cancelled.has(id) ||
      (attempt > 1 && (await engine.redis.hget(engine.keys.task(id), 'status')) === 'cancelled');
    if (cancelled) throw bare(new UnrecoverableError(encodeFailure(new CancelledError(), attempt)));
    const handler = handlers[job.name];
    if (!handler) throw fail(new PermanentError(`this worker has no handler for task type ${job.name}`));

    const run = new TaskRun(job, token, attempt, options);
    options.running.add(run);
    try {
      const result = await run.run(handler);
      if (result == null && job.data.fannedOut) {
        return aggregateOutcomes((await run.childOutcomes()) ?? [], job.data.fannedOut.count);
      }
      return result ?? null;
    } catch (error) {
      if (error instanceof FanOut) {
        if (error.waiting) throw new WaitingChildrenError();
        // Every child finished before we could wait: run again at once to collect them.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (error instanceof ChildFailed) throw bare(new UnrecoverableError(error.message));
      const reason = run.abortCause;
      if (reason === AbortReason.Shutdown || reason === AbortReason.Preempt) {
        // Handed back without using up an attempt; a worker picks it up again (after the urgent
        // task, which BullMQ's priority order puts first). The projection tells the two apart.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (typeof reason === 'string' && reason.startsWith(AbortReason.CancelPrefix)) {
        throw bare(
          new UnrecoverableError(
            encodeFailure(new CancelledError(reason.slice(AbortReason.CancelPrefix.length)), attempt),
          ),
        );
      }
      if (reason instanceof TimeoutError) throw fail(reason);
      throw fail(error as Error);
    } finally {
      options.running.delete(run);
      await run.end();
    }
  };
}
