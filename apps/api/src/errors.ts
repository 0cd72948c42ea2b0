import { isRedisUnavailable, isTaskplaneError, type Logger, ValidationError } from '@taskplane/core';
import { GraphQLError } from 'graphql';

const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };

/**
 * Codes of GraphQL's own errors, about the request rather than the server: every error a client
 * gets carries one (README, "Errors").
 */
export const RequestErrorCode = {
  /** The document is not GraphQL. */
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  /** The document does not fit the schema, or passes a limit (depth, aliases, tokens, cost). */
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  /** A variable's value does not fit its type (`fields` names the path of the bad value). */
  BadUserInput: 'BAD_USER_INPUT',
} as const;

/** graphql-js's "Did you mean ...?" hints, which production mode gives none of (enum values included). */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** `Variable "$input" got invalid value 5.5 at "input.priority"; Int cannot ...` */
const VARIABLE_ERROR =
  /^Variable "\$([^"]+)" (?:got invalid value .*? at "([^"]+)"|got invalid value|of required type|of non-null type)/s;

/**
 * GraphQL's own error with a stable code, and for a bad variable the path of the bad value in
 * `fields` (as `ValidationError` gives it) and the whole message, not only the inner one.
 */
export function requestError(error: GraphQLError, defaultCode: string, production: boolean): GraphQLError {
  const message = production ? error.message.replace(SUGGESTION, '') : error.message;
  const variable = VARIABLE_ERROR.exec(error.message);
  const code =
    (error.extensions?.code as string | undefined) ??
    (variable ? RequestErrorCode.BadUserInput : defaultCode);
  const fields = variable
    ? [{ path: variable[2] ?? variable[1]!, message: message.slice(message.indexOf('; ') + 2) || message }]
    : undefined;
  if (message === error.message && code === error.extensions?.code && !fields) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code, ...(fields ? { fields } : {}) },
  });
}

/**
 * What clients see of an error: our own errors keep their message and code; GraphQL's own
 * (syntax, validation, limits) pass as they are; anything else is masked and logged once.
 */
export function createMaskError(logger: Logger, production = false) {
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
    // A request mistake (a bad variable, a scalar that would not parse): keep the outer error, which
    // names the variable and the path, rather than only the inner message.
    if (error instanceof GraphQLError && (!original || original instanceof GraphQLError))
      return requestError(
        error,
        // No cause: a limit plugin's verdict on the document; else a value that would not parse.
        original ? RequestErrorCode.BadUserInput : RequestErrorCode.ValidationFailed,
        production,
      );
    logger.error({ err: cause }, 'unexpected error');
    return new GraphQLError('Unexpected error.', {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'INTERNAL' },
    });
  };
}
