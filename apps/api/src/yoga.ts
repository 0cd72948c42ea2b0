import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { isTaskplaneError, type Logger } from '@taskplane/core';
import { type ExecutionResult, GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { authenticate } from './auth/authenticate';
import type { Context, Services } from './context';
import { createMaskError, RequestErrorCode, requestError } from './errors';
import type { ApiMetrics } from './metrics';
import { persistedOperationsPlugin } from './persisted-operations';
import type { RateLimiter } from './rate-limit';
import { schema } from './schema';
import { disableIntrospection } from './security';
import { useSharedSubscriptionExecution } from './shared-subscriptions';

export interface ServerContext {
  /** Set by the WebSocket server for operations it runs through Yoga's envelope. */
  connectionContext?: Omit<Context, keyof Services>;
}

/** A GraphQL error about the request rather than the server (anything but INTERNAL). */
function isClientMistake(value: unknown): boolean {
  if (!(value instanceof GraphQLError)) return false;
  const code = value.extensions?.code;
  if (code !== undefined) return code !== 'INTERNAL' && code !== 'UNAVAILABLE';
  const cause = value.originalError;
  // No cause: the document or a variable is wrong; a GraphQL cause: a scalar refused a value;
  // one of our typed errors: VALIDATION, NOT_FOUND and the like. Anything else is a fault.
  return !cause || cause instanceof GraphQLError || (isTaskplaneError(cause) && cause.code !== 'UNAVAILABLE');
}

/** An origin may call the API if it is on the allow-list, or the API's own. */
export function originAllowed(origin: string | null, allowed: string[], host: string | null): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The GraphQL engine: limits and protections shared by HTTP and WebSocket. */
export function createGraphQL(services: Services, metrics: ApiMetrics, limiter: RateLimiter, logger: Logger) {
  const { api, mode } = services.config;
  const production = mode === 'production';
  const maskError = createMaskError(logger, production);
  const countResultErrors = (result: ExecutionResult): void => {
    for (const e of result.errors ?? [])
      metrics.errors.inc({ code: String(e.extensions?.code ?? 'GRAPHQL') });
  };
  const countErrors: Plugin = {
    onExecutionResult({ result }) {
      if (result && 'errors' in result) countResultErrors(result);
    },
  };
  // Validation errors (the schema's rules and the limits below) with a stable code and, in
  // production, without suggestions. Errors of execution go through `maskError`.
  const codeValidationErrors: Plugin = {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0)
          setResult(result.map((e) => requestError(e, RequestErrorCode.ValidationFailed, production)));
      };
    },
  };
  const plugins: Plugin[] = [
    codeValidationErrors,
    useCSRFPrevention({ requestHeaders: ['authorization', 'x-taskplane-csrf', 'graphql-require-preflight'] }),
    maxTokensPlugin({ n: api.max_tokens }),
    maxDepthPlugin({ n: api.max_depth, ignoreIntrospection: true }),
    maxAliasesPlugin({ n: api.max_aliases }),
    costLimitPlugin({ maxCost: api.max_cost, ignoreIntrospection: true }),
    countErrors,
    useSharedSubscriptionExecution(() => metrics.executions.inc(), maskError, countResultErrors),
  ];
  if (production) plugins.push(blockFieldSuggestionsPlugin(), disableIntrospection());
  if (services.persisted) plugins.unshift(persistedOperationsPlugin(services.persisted, api.persisted_only));

  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: !production,
    landingPage: false,
    batching: false,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // Yoga logs the errors it answers with; those about the request (a bad variable, a limit,
      // a VALIDATION) are the client's mistake, not a fault to page anyone about.
      error: (...args) =>
        args.some(isClientMistake)
          ? logger.debug(args.map(String).join(' '))
          : logger.error(args.map(String).join(' ')),
    },
    maskedErrors: { maskError },
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!originAllowed(origin, api.allowed_origins, request.headers.get('host'))) return false;
      return {
        origin: origin ?? '*',
        methods: ['GET', 'POST'],
        allowedHeaders: ['authorization', 'content-type', 'x-taskplane-csrf', 'graphql-require-preflight'],
        credentials: false,
        maxAge: 600,
      };
    },
    context: async ({ request, connectionContext }) => {
      // A socket's operation starts from a context that has the caller and inherits the services
      // (see ws.ts): nothing to add.
      if (connectionContext) return {} as Context;
      try {
        const caller = await authenticate(services.tokens, request.headers.get('authorization'));
        limiter.take(caller.token?.id ?? `ip:${request.headers.get('x-forwarded-for') ?? 'local'}`);
        return { ...services, ...caller };
      } catch (error) {
        if (isTaskplaneError(error)) {
          const status = error.code === 'UNAUTHENTICATED' ? 401 : error.code === 'RATE_LIMITED' ? 429 : 400;
          throw Object.assign(error, { extensions: { code: error.code, http: { status } } });
        }
        throw error;
      }
    },
    plugins,
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQL>;
