import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import {
  createClient as createWsClient,
  type FormattedExecutionResult,
  type Client as WsClient,
} from 'graphql-ws';
import WebSocket from 'ws';
import {
  ClientErrorCode,
  FORBIDDEN_CLOSE_CODE,
  fromGraphQLErrors,
  type GraphQLErrorLike,
  TaskplaneClientError,
} from './errors';

/** Options of `createClient`. */
export interface ClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`; WebSockets use the same path. */
  url: string;
  /** An API token, sent as `Authorization: Bearer <token>`; omit for anonymous calls (`health`). */
  token?: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Default: `ws` (Node 20 has no global WebSocket). */
  webSocketImpl?: unknown;
  /**
   * How many times a dropped WebSocket is reopened in a row before subscriptions fail with
   * CONNECTION_CLOSED. Default 20 (with the backoff below, about a minute and a half).
   */
  retryAttempts?: number;
  /** Upper bound of the reconnect backoff (250 ms doubling), in ms. Default 5000. */
  maxRetryWaitMs?: number;
}

/** The variables argument: optional when the operation takes none. */
export type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/** An async iterable a consumer can also stop from outside (`for await` stops it by `break`). */
export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Ends the subscription (the server is told) and the iteration. */
  close(): void;
}

export interface Transport {
  /** Runs a query or mutation over HTTP POST; GraphQL errors throw `TaskplaneClientError`. */
  request<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R>;
  /** Starts a subscription over the client's WebSocket (opened on first use, reopened when it drops). */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Subscription<R>;
  /**
   * Like `subscribe`, but `onNext` sees each result as it arrives, and `variables` is kept by
   * reference: graphql-ws re-sends the same payload when it reopens the socket, so changing a
   * variable in `onNext` changes what a re-subscription asks for (this is how resuming works).
   */
  subscribeWith<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    onNext: (data: R) => void,
  ): Subscription<R>;
  /** Closes the WebSocket and ends every subscription. */
  close(): Promise<void>;
}

const printed = new WeakMap<DocumentNode, string>();
function source(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;
}

/** Whatever a graphql-ws sink received as its error, as a `TaskplaneClientError`. */
function subscriptionError(error: unknown): TaskplaneClientError {
  if (error instanceof TaskplaneClientError) return error;
  if (Array.isArray(error)) return fromGraphQLErrors(error as GraphQLErrorLike[]);
  if (isCloseEvent(error)) {
    const detail = `${error.code}${error.reason ? ` ${error.reason}` : ''}`;
    if (error.code === FORBIDDEN_CLOSE_CODE) {
      return new TaskplaneClientError(
        ClientErrorCode.Unauthenticated,
        `the server refused the connection (${detail}): is the token valid?`,
        { closeCode: error.code, retryable: false },
      );
    }
    return new TaskplaneClientError(ClientErrorCode.ConnectionClosed, `the WebSocket closed (${detail})`, {
      closeCode: error.code,
    });
  }
  // ws's ErrorEvent is not an Error but carries a message.
  const message =
    typeof (error as { message?: unknown })?.message === 'string' ? (error as Error).message : String(error);
  return new TaskplaneClientError(ClientErrorCode.Network, message, { cause: error });
}

/** Turns graphql-ws's push sink into a pull iterator that buffers what the consumer has not taken. */
function iterate<R>(
  start: (sink: { next(value: R): void; error(error: unknown): void; complete(): void }) => () => void,
): Subscription<R> {
  const pending: R[] = [];
  let failure: TaskplaneClientError | null = null;
  let finished = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let dispose: (() => void) | null = null;
  dispose = start({
    next(value) {
      pending.push(value);
      notify();
    },
    error(error) {
      failure = subscriptionError(error);
      finished = true;
      // An error inside a result does not end graphql-ws's side by itself.
      queueMicrotask(() => dispose?.());
      notify();
    },
    complete() {
      finished = true;
      notify();
    },
  });
  const close = () => {
    if (!finished) dispose?.();
    finished = true;
    pending.length = 0;
    notify();
  };
  const iterator: Subscription<R> = {
    async next(): Promise<IteratorResult<R>> {
      for (;;) {
        if (pending.length) return { done: false, value: pending.shift()! };
        if (failure) {
          const error = failure;
          failure = null;
          throw error;
        }
        if (finished) return { done: true, value: undefined };
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return(): Promise<IteratorResult<R>> {
      close();
      return { done: true, value: undefined };
    },
    close,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** `http(s)://host/graphql` → `ws(s)://host/graphql`. */
function webSocketUrl(url: string): string {
  return url.replace(/^http/i, 'ws');
}

/** The wire layer: HTTP for queries and mutations, one lazy graphql-ws socket for subscriptions. */
export function createTransport(options: ClientOptions): Transport {
  const fetchImpl = options.fetch ?? fetch;
  const authorization = options.token ? `Bearer ${options.token}` : null;
  const maxWait = options.maxRetryWaitMs ?? 5000;
  let ws: WsClient | null = null;

  const socket = (): WsClient => {
    ws ??= createWsClient({
      url: webSocketUrl(options.url),
      webSocketImpl: options.webSocketImpl ?? WebSocket,
      lazy: true,
      connectionParams: authorization ? { authorization } : {},
      retryAttempts: options.retryAttempts ?? 20,
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(maxWait, 250 * 2 ** retries))),
      // Socket errors (refused, reset) come before their close event: retry those too. A refused
      // token (4403) stays refused: fail at once instead.
      shouldRetry: (error) => !(isCloseEvent(error) && error.code === FORBIDDEN_CLOSE_CODE),
    });
    return ws;
  };

  async function request<R, V>(
    document: TypedDocumentNode<R, V>,
    ...[variables]: VariablesArg<V>
  ): Promise<R> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (authorization) headers.authorization = authorization;
    let response: Response;
    try {
      response = await fetchImpl(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: source(document), variables: variables ?? {} }),
      });
    } catch (error) {
      throw new TaskplaneClientError(
        ClientErrorCode.Network,
        `cannot reach ${options.url}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    let body: { data?: R | null; errors?: GraphQLErrorLike[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TaskplaneClientError(
        ClientErrorCode.BadResponse,
        `HTTP ${response.status} from ${options.url}: ${text.slice(0, 200)}`,
        { status: response.status },
      );
    }
    if (body.errors?.length) throw fromGraphQLErrors(body.errors, response.status);
    if (!body.data) {
      throw new TaskplaneClientError(ClientErrorCode.BadResponse, `HTTP ${response.status} without data`, {
        status: response.status,
      });
    }
    return body.data;
  }

  function subscribeWith<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    onNext: (data: R) => void,
  ): Subscription<R> {
    const payload = { query: source(document), variables: (variables ?? {}) as Record<string, unknown> };
    return iterate<R>((sink) =>
      socket().subscribe<R>(payload, {
        next(result: FormattedExecutionResult<R>) {
          if (result.errors?.length) return sink.error(fromGraphQLErrors(result.errors));
          if (!result.data) return;
          onNext(result.data);
          sink.next(result.data);
        },
        error: sink.error,
        complete: sink.complete,
      }),
    );
  }

  return {
    request,
    subscribeWith,
    subscribe: (document, ...[variables]) => subscribeWith(document, variables as never, () => {}),
    async close() {
      const current = ws;
      ws = null;
      await current?.dispose();
    },
  };
}
