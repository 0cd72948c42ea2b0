import type { SerializedError } from './errors';
import type { Logger } from './logger';
import type { ChildFailurePolicy, TaskInput } from './task';

/** What one child of a fan-out ended as, handed back to its parent's handler. */
export interface ChildOutcome {
  id: string;
  status: 'success' | 'failed';
  result: unknown;
  error: SerializedError | null;
}

/** How a fan-out treats its children; see `HandlerContext.fanOut`. */
export interface FanOutOptions {
  /** What a failed child does to this task; the task's own `onChildFailure` (default `continue`) when absent. */
  onChildFailure?: ChildFailurePolicy;
}

/** Most child results a parent's aggregated result lists (`results`); the counts cover every child. */
export const MAX_AGGREGATED_RESULTS = 100;

/**
 * A parent's result when its handler returns nothing on the run after a fan-out: counts of its
 * children's outcomes and the results of the first `MAX_AGGREGATED_RESULTS` that succeeded.
 */
export interface AggregatedResult {
  total: number;
  succeeded: number;
  failed: number;
  /** Children that failed and were left out of the outcomes (policy `ignore`). */
  ignored: number;
  /** Child task id to its result, for at most `MAX_AGGREGATED_RESULTS` children. */
  results: Record<string, unknown>;
  /** Whether `results` left some successful children out. */
  truncated: boolean;
}

/** A normalised product as the product-sync handlers store it. */
export interface Product {
  id: string;
  url: string;
  title: string;
  price: number;
  currency: string;
  shopId: string;
  updatedAt: string;
}

/** Everything a handler gets besides its parameters. */
export interface HandlerContext {
  taskId: string;
  type: string;
  queue: string;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  labels: Record<string, string>;
  /** Aborted on cancellation, timeout and shutdown; pass it to every I/O call. */
  signal: AbortSignal;
  /** Appends a line to the task's log (visible live in the API); also goes to the process log. */
  log(message: string): void;
  /** Reports progress, 0-100. */
  progress(percent: number): Promise<void>;
  /** Settings a handler may need (the catalogue's base URL, request timeout). */
  settings: { catalogueBaseUrl: string; requestTimeoutMs: number };
  /** Stores products by id; returns how many were written. */
  storeProducts(products: Product[]): Promise<number>;
  /**
   * Fan out: submit these as children of this task and end this run; the task runs again once
   * every child has finished, and then `childOutcomes()` returns what they ended as. A child
   * without a priority of its own runs at this task's priority minus one (at least 1), so a
   * parent's children do not overtake more urgent work. `onChildFailure` says what a failed child
   * does to this task (see `ChildFailurePolicy`). When the next run returns nothing (undefined or
   * null), the task's result is an `AggregatedResult` of its children's.
   */
  fanOut(children: TaskInput[], options?: FanOutOptions): Promise<never>;
  /**
   * null on the first run; the children's outcomes on the run after a fan-out (possibly empty,
   * when every child failed under `ignore`).
   */
  childOutcomes(): Promise<ChildOutcome[] | null>;
  /** The process logger, for lines that do not belong in the task's log. */
  logger: Logger;
}

/**
 * A task handler: a plain async function of validated parameters and a context. Its return value
 * becomes the task's result (JSON). Throw `PermanentError` for failures retrying cannot fix and
 * `TransientError` (or anything else) for ones it may.
 */
export type TaskHandler<P = Record<string, unknown>, R = unknown> = (
  params: P,
  ctx: HandlerContext,
) => Promise<R>;

/**
 * A module of handlers: task type name to handler. Parameters are typed per handler, so the map
 * holds handlers of any parameter type; the engine validated them against the type's schema.
 */
// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own parameters.
export type HandlerMap = Record<string, TaskHandler<any, unknown>>;
