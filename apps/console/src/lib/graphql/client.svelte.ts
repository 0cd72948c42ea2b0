import { Client, fetchExchange, stringifyDocument } from '@urql/core';
import type { TadaDocumentNode } from 'gql.tada';
import type { GraphQLFormattedError } from 'graphql';
import { CloseCode, createClient as createWsClient } from 'graphql-ws';
import { untrack } from 'svelte';

/** What the connection indicator shows: the state of the console's one WebSocket to the API. */
export const ConnectionState = {
  Connecting: 'connecting',
  Connected: 'connected',
  Disconnected: 'disconnected',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Live state of the API connection; read it in markup or effects and it updates on its own. */
export interface Connection {
  readonly state: ConnectionState;
  /** Why the last attempt failed, while disconnected. */
  readonly reason: string | null;
  /** How many times the socket has been (re)connected; pages refetch their snapshots when it grows. */
  readonly connects: number;
}

/** What a live subscription hands its caller. */
export interface LiveSink<Data> {
  next(data: Data): void;
  /** The API refused the subscription (GraphQL errors) or the socket failed for good. */
  error?(errors: readonly GraphQLFormattedError[]): void;
}

export interface Api {
  /** Queries and mutations, over fetch with the token in `Authorization`. */
  client: Client;
  connection: Connection;
  /**
   * Subscribes over the one WebSocket. `variables` is called again on every (re)subscription, so a
   * stream that returns its last cursor there resumes where it stopped after the socket drops.
   * Returns the unsubscribe function.
   */
  live<Data, Variables extends Record<string, unknown>>(
    document: TadaDocumentNode<Data, Variables>,
    variables: () => Variables,
    sink: LiveSink<Data>,
  ): () => void;
  /** Closes the WebSocket and stops reconnecting. */
  dispose(): void;
}

export interface ApiOptions {
  /** The API's GraphQL endpoint (http or https). */
  url: string;
  /** An API token; sent as `Bearer <token>` over HTTP and in the socket's connection parameters. */
  token: string;
  /** The API refused the token on the socket (revoked meanwhile): the caller should sign out. */
  onForbidden(): void;
}

// graphql-ws backs off exponentially without a cap; an operator who restarts the API should see
// the console come back within seconds, not minutes.
const MAX_RETRY_WAIT_MS = 5_000;

/**
 * Builds the console's connection to the API: queries and mutations over fetch, subscriptions over
 * one graphql-ws WebSocket. The socket is opened eagerly and kept open (retrying forever) so that
 * `connection` tells the operator whether the API is reachable even on pages without streams.
 */
export function createApi({ url, token, onForbidden }: ApiOptions): Api {
  const authorization = `Bearer ${token}`;
  const connection = $state<{ state: ConnectionState; reason: string | null; connects: number }>({
    state: ConnectionState.Connecting,
    reason: null,
    connects: 0,
  });
  const wsUrl = new URL(url);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  const ws = createWsClient({
    url: wsUrl.href,
    lazy: false,
    connectionParams: { authorization },
    retryAttempts: Number.POSITIVE_INFINITY,
    // The API closes with 4403 when the token is not valid: retrying cannot help.
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === CloseCode.Forbidden),
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, MAX_RETRY_WAIT_MS))),
    onNonLazyError: () => {},
    on: {
      // A retry keeps showing "disconnected" and its reason rather than flickering to "connecting".
      connecting: (isRetry) => {
        if (!isRetry) connection.state = ConnectionState.Connecting;
      },
      connected: () => {
        connection.state = ConnectionState.Connected;
        connection.reason = null;
        connection.connects++;
      },
      closed: (event) => {
        connection.state = ConnectionState.Disconnected;
        connection.reason = describeClose(event);
        if (event instanceof CloseEvent && event.code === CloseCode.Forbidden) onForbidden();
      },
    },
  });

  const client = new Client({
    url,
    exchanges: [fetchExchange],
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization } }),
  });

  function live<Data, Variables extends Record<string, unknown>>(
    document: TadaDocumentNode<Data, Variables>,
    variables: () => Variables,
    sink: LiveSink<Data>,
  ): () => void {
    // graphql-ws serialises the same payload object on every (re)subscription; the getter makes it
    // ask for fresh variables (the stream's latest cursor) each time.
    const payload = {
      query: stringifyDocument(document),
      get variables() {
        return variables();
      },
    };
    return ws.subscribe<Data>(payload, {
      next: (result) => {
        if (result.errors?.length) sink.error?.(result.errors);
        else if (result.data) sink.next(result.data);
      },
      error: (error) => sink.error?.(Array.isArray(error) ? error : [{ message: describeClose(error) }]),
      complete: () => {},
    });
  }

  return { client, connection, live, dispose: () => void ws.dispose() };
}

// 1006 is the browser's "closed abnormally": nothing answered, or the connection dropped.
const ABNORMAL_CLOSURE = 1006;

function describeClose(event: unknown): string {
  if (event instanceof CloseEvent) {
    if (event.code === ABNORMAL_CLOSURE) return 'the API does not answer';
    if (event.code === CloseCode.Forbidden) return 'the API refused the token';
    return event.reason || `socket closed (code ${event.code})`;
  }
  return event instanceof Error ? event.message : 'socket closed';
}

/**
 * Runs `load` now and again after every reconnect: the snapshot (a query) that live changes are
 * applied on top of, fetched again because changes pushed while the socket was down are lost.
 * Call while a component initialises.
 */
export function reloadOnReconnect(connection: Connection, load: () => void): void {
  let seen: number | null = null;
  $effect(() => {
    const connects = connection.connects;
    if (seen === null || connects > Math.max(seen, 1)) untrack(load);
    seen = connects;
  });
}
