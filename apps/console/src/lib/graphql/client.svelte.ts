import {
  createTransport,
  FORBIDDEN_CLOSE_CODE,
  type TaskplaneClientError,
  type Transport,
} from '@taskplane/client';
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { untrack } from 'svelte';
import { consoleWebSocket } from './relayed-web-socket';

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

export interface Api {
  /** Queries and mutations over fetch with the token in `Authorization`; urql subscriptions go over `transport`. */
  client: Client;
  connection: Connection;
  /**
   * The one WebSocket to the API, shared with the CLI and bots (`@taskplane/client`). Its `live`
   * carries every subscription; cursored streams go through its `followCursor`.
   */
  transport: Transport;
  /** `transport.live`: a subscription over the one WebSocket, with `variables` read on every (re)subscription. */
  live: Transport['live'];
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

/**
 * Builds the console's connection to the API on the client the CLI and bots use
 * (`@taskplane/client`): its graphql-ws transport carries every subscription (the live stores', and
 * urql's through `subscriptionExchange`); urql sends queries and mutations over fetch. The socket is
 * opened eagerly and kept open (retrying forever) so that `connection` tells the operator whether
 * the API is reachable even on pages without streams.
 */
export function createApi({ url, token, onForbidden }: ApiOptions): Api {
  const authorization = `Bearer ${token}`;
  const connection = $state<{ state: ConnectionState; reason: string | null; connects: number }>({
    state: ConnectionState.Connecting,
    reason: null,
    connects: 0,
  });

  const transport = createTransport({
    url,
    token,
    keepOpen: true,
    // Off the main thread: frames reach the page in batches (see `relayed-web-socket.ts`).
    webSocketImpl: consoleWebSocket(),
    retryAttempts: Number.POSITIVE_INFINITY,
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
      closed: (error) => {
        connection.state = ConnectionState.Disconnected;
        connection.reason = describeClose(error);
        if (error.closeCode === FORBIDDEN_CLOSE_CODE) onForbidden();
      },
    },
  });

  const client = new Client({
    url,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (_request, operation) => ({
          subscribe: (observer) => ({
            unsubscribe: transport.live(operation.query, () => operation.variables, {
              next: (data) => observer.next({ data }),
              error: (error) => observer.error(error),
              complete: () => observer.complete(),
            }),
          }),
        }),
      }),
    ],
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization } }),
  });

  return { client, connection, transport, live: transport.live, dispose: () => void transport.close() };
}

// 1006 is the browser's "closed abnormally": nothing answered, or the connection dropped.
const ABNORMAL_CLOSURE = 1006;

function describeClose(error: TaskplaneClientError): string {
  if (error.closeCode === ABNORMAL_CLOSURE) return 'the API does not answer';
  if (error.closeCode === FORBIDDEN_CLOSE_CODE) return 'the API refused the token';
  return error.message;
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
