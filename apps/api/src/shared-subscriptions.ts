import type { EventFeed, FeedListener } from '@taskplane/events';
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  print,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Results a pushed subscriber may have handed to the fan-out and not yet delivered before it stops
 * being pushed to (the rest wait in its feed, bounded there): a stalled execution cannot make a
 * subscriber hold more than this.
 */
export const MAX_IN_FLIGHT = 1_000;

/** What clients see of an error (Yoga's `maskError`). */
export type MaskError = (error: unknown) => Error;

/**
 * Runs the same subscription document once per event, however many sockets subscribed to it, and
 * serialises its result once.
 *
 * graphql-js executes a subscription's selection for every event and every subscriber. Our event
 * hub hands the same event object to every matching subscriber, so a result can be shared by
 * subscribers whose role, document, variables and operation are equal: the first computes it,
 * the rest reuse it (keyed by the event object, so results are dropped with the event).
 * Authorization of the root field was checked for each subscriber when it subscribed; fields below
 * it may depend on the role (an alert's deliveries are for operators), never on anything else of
 * the caller, which is what makes sharing within a role safe.
 *
 * Errors in a shared result are masked here, once (`mask`), so a result pushed past Yoga's
 * envelope (see `SharedResults.push`) is what the envelope would have sent; masking an error twice
 * leaves it as it was.
 */
export function useSharedSubscriptionExecution(
  onExecute: () => void = () => {},
  mask: MaskError = (error) => error as Error,
  /** Sees each pushed result that carries errors, as Yoga's `onExecutionResult` sees pulled ones. */
  onErrors: (result: ExecutionResult) => void = () => {},
): Plugin {
  const printed = new WeakMap<DocumentNode, string>();

  const keyOf = (args: ExecutionArgs): string => {
    let text = printed.get(args.document);
    if (text === undefined) {
      text = print(args.document);
      printed.set(args.document, text);
    }
    // The caller's role is part of the key: a field below the root may be for some roles only
    // (an alert's deliveries), so only callers of one role share an execution.
    const role = (args.contextValue as { role?: unknown } | null | undefined)?.role ?? '';
    return `${String(role)}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
  };

  const shared = new Shared(onExecute, mask, onErrors);

  const subscribe = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
    const { key, args: canonical } = shared.join(keyOf(args), args);
    const results = new SharedResults(
      shared,
      canonical,
      key,
      (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() as AsyncIterator<unknown> &
        Partial<Pick<EventFeed, 'listen'>>,
    );
    if (typeof args.contextValue === 'object' && args.contextValue !== null)
      byContext.set(args.contextValue, results);
    return results;
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}

/** The `SharedResults` of a subscription, by its context (each operation over a socket has its own). */
const byContext = new WeakMap<object, SharedResults>();

/** The shared results behind a subscription's (wrapped) result stream, found by its context value. */
export function sharedResultsOf(contextValue: unknown): SharedResults | undefined {
  return typeof contextValue === 'object' && contextValue !== null ? byContext.get(contextValue) : undefined;
}

/** Where a pushed subscriber's results go (see `SharedResults.push`). */
export interface ResultSink {
  /** The next result, with its payload (`JSON.stringify(result)`) encoded once for every sink. */
  deliver(result: ExecutionResult, payload: Buffer): void;
  /**
   * Pushing is over (the feed ended, or `stop()` was called) and every result pushed so far was
   * delivered: pull with `next()` from here.
   */
  resume(): void;
}

/** One event's result for the pushed subscribers of one document, in the order events came. */
interface Entry {
  payload: object;
  waiters: SharedResults[];
}

/** The pushed deliveries of one document: a chain, so results reach every subscriber in order. */
interface Channel {
  last: Entry | null;
  tail: Promise<void>;
  pending: number;
}

/** The arguments every subscriber of one document executes with, while any is subscribed. */
interface Canonical {
  /** The key, one string for all of them. */
  key: string;
  args: ExecutionArgs;
  subscribers: number;
}

class Shared {
  private readonly results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  private readonly channels = new Map<string, Channel>();
  private readonly canonical = new Map<string, Canonical>();

  constructor(
    private readonly onExecute: () => void,
    private readonly mask: MaskError,
    /** @internal */
    readonly onErrors: (result: ExecutionResult) => void,
  ) {}

  /**
   * The arguments the subscribers of `key` execute with: the first one's, copied. Each execution
   * is shared by them all anyway (see `run`), so no subscriber needs its own context past its
   * subscribe: an idle subscription then keeps none of its context, its authorization cache or
   * the envelope built for it (about 2 KB each).
   */
  join(key: string, args: ExecutionArgs): Canonical {
    let entry = this.canonical.get(key);
    if (!entry) {
      const { schema, document, operationName, variableValues, contextValue } = args;
      entry = {
        key,
        args: { schema, document, operationName, variableValues, contextValue },
        subscribers: 0,
      };
      this.canonical.set(key, entry);
    }
    entry.subscribers++;
    return entry;
  }

  /** A subscriber of `key` ended. */
  leave(key: string): void {
    const entry = this.canonical.get(key);
    if (entry && --entry.subscribers === 0) this.canonical.delete(key);
  }

  /** An error thrown by a subscription's stream, as clients see it (an abort passes unmasked, as in Yoga). */
  maskThrown(error: unknown): unknown {
    return (error as { name?: unknown } | null)?.name === 'AbortError' ? error : this.mask(error);
  }

  private execute(args: ExecutionArgs, payload: unknown): Promise<ExecutionResult> {
    this.onExecute();
    return Promise.resolve(execute({ ...args, rootValue: payload })).then((result) =>
      result.errors?.length
        ? { ...result, errors: result.errors.map((error) => this.mask(error) as GraphQLError) }
        : result,
    );
  }

  /** The result of `args` for one payload, computed by the first subscriber to ask. */
  run(args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult> {
    if (typeof payload !== 'object' || payload === null) return this.execute(args, payload);
    let perPayload = this.results.get(payload);
    if (!perPayload) {
      perPayload = new Map();
      this.results.set(payload, perPayload);
    }
    let result = perPayload.get(key);
    if (!result) {
      result = this.execute(args, payload);
      perPayload.set(key, result);
    }
    return result;
  }

  /**
   * Hands `subscriber` the result of `payload` when it is ready, after the results of every earlier
   * payload of its document: every pushed subscriber of one document gets the same events in the
   * same order (they share a filter), so one chain per document keeps each one's order.
   */
  enqueue(subscriber: SharedResults, args: ExecutionArgs, key: string, payload: object): void {
    let channel = this.channels.get(key);
    if (!channel) {
      channel = { last: null, tail: Promise.resolve(), pending: 0 };
      this.channels.set(key, channel);
    }
    if (channel.last?.payload === payload) {
      channel.last.waiters.push(subscriber);
      return;
    }
    const entry: Entry = { payload, waiters: [subscriber] };
    const joined = channel;
    joined.last = entry;
    joined.pending++;
    const result = this.run(args, key, payload);
    joined.tail = joined.tail
      .then(() => result)
      .then(
        (value) => {
          // Serialised once: every socket gets these bytes behind its own subscription id.
          const bytes = Buffer.from(JSON.stringify(value));
          for (const waiter of entry.waiters) waiter.delivered(value, bytes);
        },
        (error: unknown) => {
          for (const waiter of entry.waiters) waiter.failed(error);
        },
      )
      .then(() => {
        if (joined.last === entry) joined.last = null;
        if (--joined.pending === 0 && this.channels.get(key) === joined) this.channels.delete(key);
      });
  }
}

/**
 * One subscriber's results: its source's payloads mapped through the shared execution. Pulled one
 * at a time with `next()`, or pushed (`push`) as the source's events come, when the source can be
 * listened to. A class, not an object of closures, because an API process holds one per open
 * subscription.
 */
export class SharedResults implements AsyncIterableIterator<ExecutionResult>, FeedListener {
  private sink: ResultSink | null = null;
  /** Whether events come through `event()` now. */
  private pushing = false;
  /** Results enqueued for this subscriber and not yet delivered. */
  private inFlight = 0;
  private failure: unknown = null;
  private closed = false;
  private left = false;

  constructor(
    private readonly shared: Shared,
    private readonly args: ExecutionArgs,
    private readonly key: string,
    private readonly source: AsyncIterator<unknown> & Partial<Pick<EventFeed, 'listen'>>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Push results to `sink` as the source's events come, instead of waiting for `next()`: one
   * execution and one serialisation per event for all subscribers of a document, and no chain of
   * promises per subscriber. False when the source cannot be listened to now (it is replaying, has
   * events waiting, or ended): pull with `next()` instead, then try again.
   */
  push(sink: ResultSink): boolean {
    if (this.closed || this.failure !== null || this.inFlight > 0 || !this.source.listen?.(this))
      return false;
    this.sink = sink;
    this.pushing = true;
    return true;
  }

  /** Stop pushing; the sink's `resume()` follows once what was pushed is delivered. */
  stop(): void {
    if (!this.pushing) return;
    this.pushing = false;
    this.source.listen?.(null);
    if (this.inFlight === 0) this.resumeSink();
  }

  private resumeSink(): void {
    const sink = this.sink;
    this.sink = null;
    sink?.resume();
  }

  /** From the source: a live event while pushing. @internal */
  event(payload: unknown): void {
    if (typeof payload !== 'object' || payload === null) {
      // Never the case for the event hub's events; keep order by leaving push mode.
      this.failure = new Error('a pushed subscription source yielded a non-object');
      this.stop();
      return;
    }
    this.inFlight++;
    this.shared.enqueue(this, this.args, this.key, payload);
    // A stalled execution: stop taking events here; the source buffers them (with its own bound).
    if (this.inFlight >= MAX_IN_FLIGHT) this.stop();
  }

  /** From the source: it ended while pushing. @internal */
  end(): void {
    if (!this.pushing) return;
    this.pushing = false;
    if (this.inFlight === 0) this.resumeSink();
  }

  /** From the shared fan-out: this subscriber's next result. @internal */
  delivered(result: ExecutionResult, payload: Buffer): void {
    this.inFlight--;
    if (!this.closed && this.sink) {
      // Past Yoga's envelope: its plugins' view of results (error counts) is kept here.
      if (result.errors?.length) this.shared.onErrors(result);
      this.sink.deliver(result, payload);
    }
    if (this.inFlight === 0 && !this.pushing) this.resumeSink();
  }

  /** From the shared fan-out: a result could not be computed. @internal */
  failed(error: unknown): void {
    this.inFlight--;
    this.failure ??= error;
    this.stop();
    if (this.inFlight === 0) this.resumeSink();
  }

  /**
   * The next result, pulled. Errors it throws are masked as Yoga's envelope masks them, so a
   * consumer past the envelope (a `PushedOperation`) sees what one through it would.
   */
  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.pull().then(
      (result) => {
        if (result.done) this.release();
        return result;
      },
      (error: unknown) => {
        this.release();
        throw this.shared.maskThrown(error);
      },
    );
  }

  /** This subscriber no longer executes (its stream ended, failed or was returned). */
  private release(): void {
    if (this.left) return;
    this.left = true;
    this.shared.leave(this.key);
  }

  private async pull(): Promise<IteratorResult<ExecutionResult>> {
    if (this.failure !== null) {
      const error = this.failure;
      this.failure = null;
      await this.return();
      throw error;
    }
    const next = await this.source.next();
    return next.done
      ? { done: true, value: undefined }
      : { done: false, value: await this.shared.run(this.args, this.key, next.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.release();
    this.closed = true;
    this.stop();
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }
}
