import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { getContext, setContext } from 'svelte';

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
}

export interface GraphqlClient {
  client: Client;
  connection: Connection;
  /** Closes the WebSocket and stops reconnecting. */
  dispose(): void;
}

// graphql-ws backs off exponentially without a cap; an operator who restarts the API should see
// the console come back within seconds, not minutes.
const MAX_RETRY_WAIT_MS = 5_000;

/**
 * Builds the console's urql client for the API at `apiUrl` (http(s)): queries and mutations go over
 * fetch, subscriptions over one graphql-ws WebSocket. The socket is opened eagerly and kept open
 * (retrying forever) so that `connection` tells the operator whether the API is reachable even on
 * pages without subscriptions.
 */
export function createGraphqlClient(apiUrl: string): GraphqlClient {
  const connection = $state<{ state: ConnectionState; reason: string | null }>({
    state: ConnectionState.Connecting,
    reason: null,
  });
  const wsUrl = new URL(apiUrl);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  const ws = createWsClient({
    url: wsUrl.href,
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
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
      },
      closed: (event) => {
        connection.state = ConnectionState.Disconnected;
        connection.reason = describeClose(event);
      },
    },
  });

  const client = new Client({
    url: apiUrl,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink),
          }),
        }),
      }),
    ],
  });

  return { client, connection, dispose: () => void ws.dispose() };
}

// 1006 is the browser's "closed abnormally": nothing answered, or the connection dropped.
const ABNORMAL_CLOSURE = 1006;

function describeClose(event: unknown): string {
  if (event instanceof CloseEvent) {
    if (event.code === ABNORMAL_CLOSURE) return 'the API does not answer';
    return event.reason || `socket closed (code ${event.code})`;
  }
  return event instanceof Error ? event.message : 'socket closed';
}

const CONNECTION_KEY = Symbol('taskplane-connection');

/** Makes `connection` available to the components below the caller (the root layout). */
export function setConnectionContext(connection: Connection): void {
  setContext(CONNECTION_KEY, connection);
}

/** The API connection set by the root layout. */
export function getConnectionContext(): Connection {
  return getContext<Connection>(CONNECTION_KEY);
}
