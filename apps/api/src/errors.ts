import { isRedisUnavailable, isTaskplaneError, type Logger, ValidationError } from '@taskplane/core';
import { GraphQLError } from 'graphql';

const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };

/**
 * What clients see of an error: our own errors keep their message and code; GraphQL's own
 * (syntax, validation, limits) pass as they are; anything else is masked and logged once.
 */
export function createMaskError(logger: Logger) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? null) : error;
    const cause =
      original instanceof GraphQLError && original.originalError ? original.originalError : original;
    if (isTaskplaneError(cause)) {
      return new GraphQLError(cause.message, {
        nodes: error instanceof GraphQLError ? error.nodes : undefined,
        path: error instanceof GraphQLError ? error.path : undefined,
        extensions: {
          code: cause.code,
          retryable: cause.retryable,
          // Thrown before execution (bad token, rate limit): the whole request failed.
          ...(HTTP_STATUS[cause.code] ? { http: { status: HTTP_STATUS[cause.code] } } : {}),
          ...(cause instanceof ValidationError ? { fields: cause.fields } : {}),
        },
      });
    }
    if (isRedisUnavailable(cause)) {
      return new GraphQLError('Redis is not reachable right now; try again shortly', {
        path: error instanceof GraphQLError ? error.path : undefined,
        extensions: { code: 'UNAVAILABLE', retryable: true, http: { status: 503 } },
      });
    }
    if (error instanceof GraphQLError && !original) return error;
    if (error instanceof GraphQLError && original instanceof GraphQLError) return original;
    logger.error({ err: cause }, 'unexpected error');
    return new GraphQLError('Unexpected error.', {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'INTERNAL' },
    });
  };
}
