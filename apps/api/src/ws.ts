import type { Server } from 'node:http';
import { isTaskplaneError, type Logger } from '@taskplane/core';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { authenticate, type Caller } from './auth/authenticate';
import type { Services } from './context';
import type { ApiMetrics } from './metrics';
import { resolveOperation } from './persisted-operations';
import { PushedOperation } from './pushed-operation';
import type { RateLimiter } from './rate-limit';
import { sharedResultsOf } from './shared-subscriptions';
import { graphQLWsServer, serveGraphQLWs } from './ws-transport';
import { type GraphQLServer, originAllowed } from './yoga';

type SocketExtra = {
  caller?: Caller;
  /** Ids of this socket's running subscriptions (for the gauge). */
  live?: Set<string>;
};

/** The `request` of every operation over a socket (see `onSubscribe`). */
const SOCKET_REQUEST = new Request('http://localhost/graphql', { method: 'POST' });

/**
 * graphql-ws on the same port and path as HTTP. Every operation runs through Yoga's envelope, so
 * depth, alias, token and cost limits, masking and auth are the same as over HTTP. A bad token is
 * refused at connection with close code 4403.
 */
export function attachWebSocket(
  http: Server,
  yoga: GraphQLServer,
  services: Services,
  metrics: ApiMetrics,
  limiter: RateLimiter,
  logger: Logger,
) {
  const { api } = services.config;
  const wss = graphQLWsServer(api.max_body_bytes);
  http.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== yoga.graphqlEndpoint) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    if (!originAllowed(request.headers.origin ?? null, api.allowed_origins, request.headers.host ?? null)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  const disposable = serveGraphQLWs<SocketExtra>(
    {
      onConnect: async (ctx) => {
        try {
          const header = ctx.connectionParams?.authorization;
          const caller = await authenticate(services.tokens, typeof header === 'string' ? header : null);
          if (!caller.token) return false;
          ctx.extra.caller = caller;
          // graphql-ws keeps the init payload (the token) for the socket's life; nothing reads it
          // after this, and idle sockets are what a fan-out holds thousands of.
          (ctx as { connectionParams?: unknown }).connectionParams = undefined;
          metrics.sockets.inc();
          return true;
        } catch {
          return false;
        }
      },
      onDisconnect: (ctx) => {
        if (ctx.extra.caller) metrics.sockets.dec();
        metrics.subscriptions.dec(ctx.extra.live?.size ?? 0);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const caller = ctx.extra.caller!;
        try {
          limiter.take(caller.token!.id);
        } catch (error) {
          return [new GraphQLError((error as Error).message, { extensions: { code: 'RATE_LIMITED' } })];
        }
        // graphql-ws has already recorded this subscription when onSubscribe runs.
        if (Object.keys(ctx.subscriptions).length > api.max_subscriptions_per_socket) {
          return [
            new GraphQLError(`at most ${api.max_subscriptions_per_socket} subscriptions per connection`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        // The context inherits the services instead of copying them (Yoga's `context` adds nothing
        // for sockets): a copy of two dozen fields per subscription was the largest object an idle
        // subscription kept. The request is one shared placeholder: nothing reads a socket
        // operation's request but Yoga's bookkeeping.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(
          Object.assign(Object.create(services), {
            token: caller.token,
            role: caller.role,
            connectionContext: caller,
            request: SOCKET_REQUEST,
            params: payload,
          }),
        );
        const operation = resolveOperation(services.persisted, api.persisted_only, payload);
        if ('error' in operation) {
          return [new GraphQLError(operation.error, { extensions: { code: 'PERSISTED_QUERY' } })];
        }
        let document: ReturnType<typeof parse>;
        try {
          document = parse(operation.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError((error as Error).message)];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
      onOperation: (ctx, id, _payload, args, result) => {
        if (!(Symbol.asyncIterator in (result as object))) return result;
        ctx.extra.live ??= new Set();
        ctx.extra.live.add(id);
        metrics.subscriptions.inc();
        // Results of the shared execution are written straight to the socket (see PushedOperation).
        const shared = sharedResultsOf(args.contextValue);
        if (!shared) return result;
        // Executions use the arguments shared by this document's subscribers: graphql-ws keeps
        // these for the subscription's life, and nothing needs their context or envelope now.
        args.contextValue = undefined;
        args.rootValue = undefined;
        return new PushedOperation(ctx.extra.socket, id, shared);
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.live?.delete(id)) metrics.subscriptions.dec();
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        for (const error of result.errors) {
          const original = (error as GraphQLError).originalError;
          if (original && !isTaskplaneError(original) && !(original instanceof GraphQLError)) {
            logger.error({ err: original }, 'unexpected error in a subscription');
          }
        }
      },
    },
    wss,
    logger,
  );
  return {
    wss,
    async close() {
      // 1001 "going away": clients reconnect (to another API process) and resume from their cursors.
      await disposable.dispose();
    },
  };
}
