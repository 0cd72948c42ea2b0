import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  print,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Runs the same subscription document once per event, however many sockets subscribed to it.
 *
 * graphql-js executes a subscription's selection for every event and every subscriber. Our event
 * hub hands the same event object to every matching subscriber, so a result can be shared by
 * subscribers whose document, variables and operation are equal: the first computes it, the rest
 * reuse it (keyed by the event object, so results are dropped with the event). Authorization was
 * already checked for each subscriber when it subscribed (the root field's scope), and no field
 * below a subscription root depends on who asks, which is what makes sharing safe.
 */
export function useSharedSubscriptionExecution(onExecute: () => void = () => {}): Plugin {
  const printed = new WeakMap<DocumentNode, string>();
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  const keyOf = (args: ExecutionArgs): string => {
    let text = printed.get(args.document);
    if (text === undefined) {
      text = print(args.document);
      printed.set(args.document, text);
    }
    return `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${text}`;
  };

  const shared: Shared = {
    onExecute,
    run(args, key, payload) {
      if (typeof payload !== 'object' || payload === null) {
        onExecute();
        return Promise.resolve(execute({ ...args, rootValue: payload }));
      }
      let perPayload = results.get(payload);
      if (!perPayload) {
        perPayload = new Map();
        results.set(payload, perPayload);
      }
      let result = perPayload.get(key);
      if (!result) {
        onExecute();
        result = Promise.resolve(execute({ ...args, rootValue: payload }));
        perPayload.set(key, result);
      }
      return result;
    },
  };

  const subscribe = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
    return new SharedResults(
      shared,
      args,
      keyOf(args),
      (source as AsyncIterable<unknown>)[Symbol.asyncIterator](),
    );
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}

interface Shared {
  onExecute(): void;
  /** The result of `args` for one payload, computed by the first subscriber to ask. */
  run(args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult>;
}

/**
 * One subscriber's results: its source's payloads mapped through the shared execution. A class, not
 * an object of closures, because an API process holds one per open subscription.
 */
class SharedResults implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly shared: Shared,
    private readonly args: ExecutionArgs,
    private readonly key: string,
    private readonly source: AsyncIterator<unknown>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const next = await this.source.next();
    return next.done
      ? { done: true, value: undefined }
      : { done: false, value: await this.shared.run(this.args, this.key, next.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    throw error;
  }
}
