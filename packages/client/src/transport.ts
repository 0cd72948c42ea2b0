import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print } from 'graphql';
import {
  createClient as createWsClient,
  type FormattedExecutionResult,
  type Client as WsClient,
} from 'graphql-ws';
import { DefaultWebSocket } from '#web-socket';
import {
  ClientErrorCode,
  FORBIDDEN_CLOSE_CODE,
  fromGraphQLErrors,
  type GraphQLErrorLike,
  TaskplaneClientError,
} from './errors';

/** What the WebSocket is doing, for a connection indicator (`ClientOptions.on`). */
export interface ConnectionListener {
  /** A socket is being opened; `isRetry` after a drop. */
  connecting?(isRetry: boolean): void;
  /** The socket is open and the server accepted the connection (subscriptions are (re)sent). */
  connected?(): void;
  /** The socket closed; `error.closeCode` says how (1006 abnormal, 4403 refused token, ...). */
  closed?(error: TaskplaneClientError): void;
}

/** Options of `createClient` and `createTransport`. */
export interface ClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`; WebSockets use the same path. */
  url: string;
  /** An API token, sent as `Authorization: Bearer <token>`; omit for anonymous calls (`health`). */
  token?: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Default: `ws` in Node (Node 20 has no global WebSocket), the native WebSocket in browsers. */
  webSocketImpl?: unknown;
  /**
   * How many times a dropped WebSocket is reopened in a row before subscriptions fail with
   * CONNECTION_CLOSED. Default 20 (with the backoff below, about a minute and a half); the console
   * passes `Infinity`.
   */
  retryAttempts?: number;
  /** Upper bound of the reconnect backoff (250 ms doubling), in ms. Default 5000. */
  maxRetryWaitMs?: number;
  /**
   * Open the WebSocket at once and keep it open without subscriptions, so `on` reports whether
   * the API is reachable (the console's indicator). Default false: opened on the first
   * subscription, closed after the last.
   */
  keepOpen?: boolean;
  /** Connection events of the WebSocket. */
  on?: ConnectionListener;
}

/** The variables argument: optional when the operation takes none. */
export type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/** An async iterable a consumer can also stop from outside (`for await` stops it by `break`). */
export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Ends the subscription (the server is told) and the iteration. */
  close(): void;
}

/** Where a push subscription (`Transport.live`) delivers. */
export interface LiveSink<R> {
  next(data: R): void;
  /**
   * The subscription failed and ends: the API refused it or ended it with an error (GraphQL
   * errors, `code` from their extensions), or the socket failed for good. Nothing follows.
   */
  error(error: TaskplaneClientError): void;
  /** The server ended the subscription. */
  complete?(): void;
}

export interface Transport {
  /** Runs a query or mutation over HTTP POST; GraphQL errors throw `TaskplaneClientError`. */
  request<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R>;
  /** Starts a subscription over the client's WebSocket (opened on first use, reopened when it drops). */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Subscription<R>;
  /**
   * Starts a subscription and pushes its results to `sink`; returns the unsubscribe function.
   * `variables` is called again on every (re)subscription: graphql-ws re-sends a subscription by
   * itself when it reopens a dropped socket, and this is where a resumable stream hands it its
   * latest cursor (`followCursor`).
   */
  live<R, V>(document: TypedDocumentNode<R, V>, variables: () => V, sink: LiveSink<R>): () => void;
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

/**
 * Turns a push subscription (`live`, `followCursor`) into a pull iterator that buffers what the
 * consumer has not taken yet. `start` subscribes and returns the unsubscribe function.
 */
export function iterate<R>(start: (sink: LiveSink<R>) => () => void): Subscription<R> {
  const pending: R[] = [];
  let failure: TaskplaneClientError | null = null;
  let finished = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const dispose = start({
    next(value) {
      pending.push(value);
      notify();
    },
    error(error) {
      failure = error;
      finished = true;
      notify();
    },
    complete() {
      finished = true;
      notify();
    },
  });
  const close = () => {
    if (!finished) dispose();
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
      webSocketImpl: options.webSocketImpl ?? DefaultWebSocket,
      lazy: !options.keepOpen,
      // A kept-open socket that cannot connect reports through `on.closed`, and keeps trying.
      onNonLazyError: () => {},
      connectionParams: authorization ? { authorization } : {},
      retryAttempts: options.retryAttempts ?? 20,
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(maxWait, 250 * 2 ** retries))),
      // Socket errors (refused, reset) come before their close event: retry those too. A refused
      // token (4403) stays refused: fail at once instead.
      shouldRetry: (error) => !(isCloseEvent(error) && error.code === FORBIDDEN_CLOSE_CODE),
      on: {
        connecting: (isRetry) => options.on?.connecting?.(isRetry),
        connected: () => options.on?.connected?.(),
        closed: (event) => options.on?.closed?.(subscriptionError(event)),
      },
    });
    return ws;
  };
  if (options.keepOpen) socket();

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

  function live<R, V>(document: TypedDocumentNode<R, V>, variables: () => V, sink: LiveSink<R>): () => void {
    // graphql-ws serialises this same payload on every (re)subscription: the getter makes each one
    // ask with fresh variables.
    const payload = {
      query: source(document),
      get variables() {
        return (variables() ?? {}) as Record<string, unknown>;
      },
    };
    let ended = false;
    const end = (error: TaskplaneClientError | null) => {
      if (ended) return;
      ended = true;
      // An error inside a result does not end graphql-ws's side by itself.
      queueMicrotask(() => dispose());
      if (error) sink.error(error);
      else sink.complete?.();
    };
    const dispose = socket().subscribe<R>(payload, {
      next(result: FormattedExecutionResult<R>) {
        if (ended) return;
        if (result.errors?.length) end(fromGraphQLErrors(result.errors));
        else if (result.data) sink.next(result.data);
      },
      error: (error) => end(subscriptionError(error)),
      complete: () => end(null),
    });
    return () => {
      ended = true;
      dispose();
    };
  }

  return {
    request,
    live,
    subscribe: (document, ...[variables]) =>
      iterate((sink) => live(document, () => variables as never, sink)),
    async close() {
      const current = ws;
      ws = null;
      await current?.dispose();
    },
  };
}
