/** Codes the client itself gives to failures that never reached GraphQL (wire-level values). */
export const ClientErrorCode = {
  /** The server could not be reached, or the connection broke. */
  Network: 'NETWORK',
  /** The WebSocket closed and will not be reopened (see `closeCode`). */
  ConnectionClosed: 'CONNECTION_CLOSED',
  /** A bad token: HTTP 401, or the WebSocket closed with 4403. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The server answered with something that is not a GraphQL response. */
  BadResponse: 'BAD_RESPONSE',
} as const;

/**
 * The API's `extensions.code` values that clients act on. They mirror `ErrorCode` in
 * `@taskplane/core`, which this package does not import (it would pull server-only modules into the
 * console's bundle); a test keeps the two equal.
 */
export const ApiErrorCode = {
  NotFound: 'NOT_FOUND',
  Validation: 'VALIDATION',
  /** `after` is older than the event log keeps: events after it may be gone. */
  CursorExpired: 'CURSOR_EXPIRED',
  /** The API ended a subscription whose reader fell too far behind: resume after its last cursor. */
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** graphql-ws's close code for a connection the server refused (`CloseCode.Forbidden`). */
export const FORBIDDEN_CLOSE_CODE = 4403;

/** Codes worth trying again later, when the server does not say (`extensions.retryable`). */
const RETRYABLE_CODES = new Set<string>([
  'RATE_LIMITED',
  'SUBSCRIBER_TOO_SLOW',
  'INTERNAL',
  'NETWORK',
  'CONNECTION_CLOSED',
]);

/** One error as a GraphQL response carries it. */
export interface GraphQLErrorLike {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface TaskplaneClientErrorOptions {
  retryable?: boolean;
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** WebSocket close code, when the socket closed. */
  closeCode?: number;
  /** Every GraphQL error of the response (the first one names `code`). */
  errors?: readonly GraphQLErrorLike[];
  /** Field problems of a validation failure (`params.url`, ...). */
  fields?: readonly { path: string; message: string }[];
  cause?: unknown;
}

/**
 * A request or subscription that failed as a whole: a GraphQL error (its `extensions.code`), a bad
 * HTTP answer or a broken connection. Expected failures the schema types as results
 * (`ValidationError`, `NotFoundError`, ...) are data, not this; `unwrap` turns them into it.
 */
export class TaskplaneClientError extends Error {
  override readonly name = 'TaskplaneClientError';
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly closeCode: number | undefined;
  readonly errors: readonly GraphQLErrorLike[];
  readonly fields: readonly { path: string; message: string }[];

  constructor(
    /** Stable machine-readable code: VALIDATION, FORBIDDEN, TOO_MANY_SUBSCRIPTIONS, NETWORK, ... */
    readonly code: string,
    message: string,
    options: TaskplaneClientErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? (RETRYABLE_CODES.has(code) || (options.status ?? 0) >= 500);
    this.status = options.status;
    this.closeCode = options.closeCode;
    this.errors = options.errors ?? [];
    this.fields = options.fields ?? [];
  }
}

/** The error of a response's `errors` list (its first entry decides the code). */
export function fromGraphQLErrors(
  errors: readonly GraphQLErrorLike[],
  status?: number,
): TaskplaneClientError {
  const first = errors[0] ?? { message: 'unknown GraphQL error' };
  const extensions = first.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : 'GRAPHQL';
  const fields = Array.isArray(extensions.fields)
    ? (extensions.fields as { path: string; message: string }[])
    : [];
  return new TaskplaneClientError(code, first.message, {
    errors,
    fields,
    ...(status === undefined ? {} : { status }),
    ...(typeof extensions.retryable === 'boolean' ? { retryable: extensions.retryable } : {}),
  });
}

/** An expected failure returned as data: any result whose type implements the `Error` interface. */
export interface ErrorResult {
  __typename: string;
  code: string;
  message: string;
  fields?: { path: string; message: string }[];
}

/** Whether a union result is one of the schema's error types rather than the value asked for. */
export function isErrorResult(value: unknown): value is ErrorResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorResult).code === 'string' &&
    typeof (value as ErrorResult).message === 'string' &&
    typeof (value as ErrorResult).__typename === 'string'
  );
}

/**
 * Narrows a union result to the type asked for, throwing its error result (`ValidationError`, ...)
 * as a `TaskplaneClientError`: for callers that treat every expected failure as an exception.
 */
export function unwrap<T extends { __typename?: string }, N extends NonNullable<T['__typename']>>(
  result: T,
  typename: N,
): Extract<T, { __typename?: N }> {
  if (result.__typename === typename) return result as Extract<T, { __typename?: N }>;
  if (isErrorResult(result)) {
    throw new TaskplaneClientError(result.code, result.message, {
      retryable: false,
      fields: result.fields ?? [],
    });
  }
  throw new TaskplaneClientError(
    ClientErrorCode.BadResponse,
    `expected ${typename}, got ${String(result.__typename)}`,
  );
}
