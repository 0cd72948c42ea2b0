import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { isTaskplaneError, type Logger } from '@taskplane/core';
import { createYoga, type Plugin } from 'graphql-yoga';
import { authenticate } from './auth/authenticate';
import type { Context, Services } from './context';
import { createMaskError } from './errors';
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
  const countErrors: Plugin = {
    onExecutionResult({ result }) {
      const results = result && 'errors' in result ? [result] : [];
      for (const r of results)
        for (const e of r.errors ?? []) metrics.errors.inc({ code: String(e.extensions?.code ?? 'GRAPHQL') });
    },
  };
  const plugins: Plugin[] = [
    useCSRFPrevention({ requestHeaders: ['authorization', 'x-taskplane-csrf', 'graphql-require-preflight'] }),
    maxTokensPlugin({ n: api.max_tokens }),
    maxDepthPlugin({ n: api.max_depth, ignoreIntrospection: true }),
    maxAliasesPlugin({ n: api.max_aliases }),
    costLimitPlugin({ maxCost: 20_000, ignoreIntrospection: true }),
    countErrors,
    useSharedSubscriptionExecution(() => metrics.executions.inc()),
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
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    maskedErrors: { maskError: createMaskError(logger) },
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
      if (connectionContext) return { ...services, ...connectionContext };
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
