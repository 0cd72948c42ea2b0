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

  const shared = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in (source as object))) return source as ExecutionResult;
    const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const key = keyOf(args);
    const run = (payload: unknown): Promise<ExecutionResult> => {
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
    };
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]: () => mapped,
      next: async () => {
        const next = await iterator.next();
        return next.done ? { done: true, value: undefined } : { done: false, value: await run(next.value) };
      },
      return: async () => {
        await iterator.return?.();
        return { done: true, value: undefined };
      },
      throw: async (error: unknown) => {
        await iterator.return?.();
        throw error;
      },
    };
    return mapped;
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(shared as never);
    },
  };
}
