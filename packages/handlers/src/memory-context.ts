import {
  type ChildOutcome,
  createLogger,
  type FanOutOptions,
  type HandlerContext,
  type Product,
  type TaskInput,
} from '@taskplane/core';

/** What the memory context's `fanOut` throws: the run ends there, as it does in a worker. */
export class FannedOut extends Error {
  constructor(
    readonly children: TaskInput[],
    readonly options: FanOutOptions = {},
  ) {
    super(`fanned out ${children.length} children`);
    this.name = 'FannedOut';
  }
}

export interface MemoryContextOptions {
  catalogueBaseUrl: string;
  /** Default 5 000 ms. */
  requestTimeoutMs?: number;
  labels?: Record<string, string>;
  /** What `childOutcomes()` returns; null (the default) is a first run. */
  childOutcomes?: ChildOutcome[] | null;
  /** Called after each progress report, e.g. to cancel the task part-way. */
  onProgress?(percent: number): void;
}

/** A handler context and what the handler did through it. */
export interface MemoryContext {
  ctx: HandlerContext;
  /** Aborts `ctx.signal`. */
  controller: AbortController;
  /** Products stored, by id. */
  products: Map<string, Product>;
  logs: string[];
  progress: number[];
}

/**
 * A `HandlerContext` that keeps everything in memory, for testing handlers without Redis or a
 * worker: the same seam a deployment's own handler tests would use.
 */
export function memoryContext(options: MemoryContextOptions): MemoryContext {
  const controller = new AbortController();
  const products = new Map<string, Product>();
  const logs: string[] = [];
  const progress: number[] = [];
  const ctx: HandlerContext = {
    taskId: 'task-1',
    type: 'test',
    queue: 'test',
    attempt: 1,
    maxAttempts: 3,
    labels: options.labels ?? {},
    signal: controller.signal,
    log: (message) => void logs.push(message),
    progress: async (percent) => {
      progress.push(percent);
      options.onProgress?.(percent);
    },
    settings: {
      catalogueBaseUrl: options.catalogueBaseUrl,
      requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    },
    storeProducts: async (batch) => {
      for (const product of batch) products.set(product.id, product);
      return batch.length;
    },
    fanOut: async (children, fanOptions) => {
      throw new FannedOut(children, fanOptions);
    },
    childOutcomes: async () => options.childOutcomes ?? null,
    logger: createLogger('handlers-test', 'silent'),
  };
  return { ctx, controller, products, logs, progress };
}
