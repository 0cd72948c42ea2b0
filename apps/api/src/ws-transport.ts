import type { Logger } from '@taskplane/core';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type WebSocket as ProtocolSocket,
  type ServerOptions,
} from 'graphql-ws';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/** How often every socket is pinged; one that has not answered the last ping by then is ended. */
export const KEEP_ALIVE_MS = 12_000;

/** How long a socket may take to send `connection_init` before it is closed with 4408. */
export const INIT_WAIT_MS = 3_000;

export interface TransportTimes {
  keepAliveMs?: number;
  initWaitMs?: number;
}

/** What graphql-ws hands our hooks as `ctx.extra`. */
export interface TransportExtra {
  socket: WebSocket;
}

/**
 * One socket as graphql-ws's protocol sees it. A class, and listeners shared by every socket
 * (they find their connection from `this`, the socket that emitted), rather than graphql-ws's own
 * `ws` adapter's closures, keep-alive interval and timeout per socket: an API process holds
 * thousands of idle sockets, and those were a good part of what each one cost.
 */
class Connection implements ProtocolSocket {
  /** graphql-ws's handler of this socket's messages. */
  receive: ((data: string) => Promise<void>) | null = null;
  /** graphql-ws's end of this socket (set once the protocol opened it). */
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
  /** Whether the socket answered since the last keep-alive ping. */
  alive = true;
  /** Until `connection_init` arrives. */
  initWait: NodeJS.Timeout | null = null;

  constructor(readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) {
        resolve();
        return;
      }
      this.socket.send(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(receive: (data: string) => Promise<void>): void {
    this.receive = receive;
  }
}

function initTimedOut(connection: Connection): void {
  connection.initWait = null;
  connection.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
}

/**
 * graphql-ws's protocol (`makeServer`: init, subscribe, next, complete, its close codes) served on
 * a `ws` server, as graphql-ws's own `useServer` does, with one keep-alive sweep for all sockets
 * and an init wait that is dropped once `connection_init` arrives. Returns how to close every
 * socket (1001, "going away") and stop.
 */
export function serveGraphQLWs<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<Record<string, unknown>, E & TransportExtra>,
  wss: WebSocketServer,
  logger: Logger,
  { keepAliveMs = KEEP_ALIVE_MS, initWaitMs = INIT_WAIT_MS }: TransportTimes = {},
): { dispose(): Promise<void> } {
  const connections = new WeakMap<WebSocket, Connection>();
  const server = makeServer<Record<string, unknown>, E & TransportExtra>({
    ...options,
    // Ours, below: graphql-ws's own timer stays referenced for the socket's life.
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      const connection = connections.get(ctx.extra.socket);
      if (connection?.initWait) {
        clearTimeout(connection.initWait);
        connection.initWait = null;
      }
      return options.onConnect?.(ctx);
    },
  });

  const fail = (socket: WebSocket, error: unknown, what: string) => {
    logger.error({ err: error }, what);
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  };
  // Listeners shared by every socket: `this` is the socket that emitted.
  function onMessage(this: WebSocket, data: RawData): void {
    const connection = connections.get(this);
    connection
      ?.receive?.(String(data))
      .catch((error: unknown) => fail(this, error, 'WebSocket message failed'));
  }
  function onPong(this: WebSocket): void {
    const connection = connections.get(this);
    if (connection) connection.alive = true;
  }
  function onError(this: WebSocket, error: Error): void {
    fail(this, error, 'WebSocket error');
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const connection = connections.get(this);
    connections.delete(this);
    if (connection?.initWait) clearTimeout(connection.initWait);
    connection?.closed?.(code, String(reason)).catch((error: unknown) => {
      logger.error({ err: error }, 'WebSocket close failed');
    });
  }

  wss.on('connection', (socket: WebSocket) => {
    const connection = new Connection(socket);
    connections.set(socket, connection);
    if (initWaitMs > 0) connection.initWait = setTimeout(initTimedOut, initWaitMs, connection);
    socket.on('message', onMessage);
    socket.on('pong', onPong);
    socket.once('error', onError);
    socket.once('close', onClose);
    connection.closed = server.opened(connection, { socket } as E & TransportExtra);
  });

  const sweep = setInterval(() => {
    for (const socket of wss.clients) {
      const connection = connections.get(socket);
      if (!connection || socket.readyState !== socket.OPEN) continue;
      if (!connection.alive) {
        socket.terminate();
        continue;
      }
      connection.alive = false;
      socket.ping();
    }
  }, keepAliveMs);
  sweep.unref();

  return {
    async dispose() {
      clearInterval(sweep);
      for (const socket of wss.clients) socket.close(1001, 'server shutting down');
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** The `ws` server for graphql-ws: it picks graphql-ws's subprotocol. */
export function graphQLWsServer(maxPayload: number): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload, handleProtocols });
}
