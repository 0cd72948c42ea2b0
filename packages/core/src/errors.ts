/**
 * Stable error codes shared by every app and sent over the wire. Clients switch on these, never on
 * messages.
 */
export const ErrorCode = {
  Validation: 'VALIDATION',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  Forbidden: 'FORBIDDEN',
  Unauthenticated: 'UNAUTHENTICATED',
  Timeout: 'TIMEOUT',
  Cancelled: 'CANCELLED',
  Transient: 'TRANSIENT',
  Permanent: 'PERMANENT',
  RateLimited: 'RATE_LIMITED',
  CursorExpired: 'CURSOR_EXPIRED',
  /** A subscriber read too slowly and was disconnected; resume from its last cursor. */
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  Config: 'CONFIG',
  Unavailable: 'UNAVAILABLE',
  /** A fan-out child failed and its parent's policy is `fail_parent`: the parent failed with it. */
  ChildFailed: 'CHILD_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A field-level problem in user input, with the path to the field (`params.urls.2`). */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Base of every error Taskplane expects. Only subclasses of this are shown to clients; anything
 * else is masked as an internal error.
 */
export class TaskplaneError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
    Object.setPrototypeOf(this, new.target.prototype);
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export class ValidationError extends TaskplaneError {
  readonly fields: FieldError[];
  constructor(message: string, fields: FieldError[] = []) {
    super(ErrorCode.Validation, message);
    this.fields = fields;
  }
  override toJSON(): SerializedError {
    return { ...super.toJSON(), fields: this.fields };
  }
}

export class NotFoundError extends TaskplaneError {
  constructor(message: string) {
    super(ErrorCode.NotFound, message);
  }
}

export class ConflictError extends TaskplaneError {
  constructor(message: string) {
    super(ErrorCode.Conflict, message);
  }
}

export class ForbiddenError extends TaskplaneError {
  constructor(message: string) {
    super(ErrorCode.Forbidden, message);
  }
}

export class UnauthenticatedError extends TaskplaneError {
  constructor(message = 'a valid API token is required') {
    super(ErrorCode.Unauthenticated, message);
  }
}

/** An attempt ran out of time. Retried. */
export class TimeoutError extends TaskplaneError {
  constructor(message: string) {
    super(ErrorCode.Timeout, message, { retryable: true });
  }
}

/** The task was cancelled by an operator. Never retried. */
export class CancelledError extends TaskplaneError {
  constructor(message = 'task was cancelled') {
    super(ErrorCode.Cancelled, message);
  }
}

/** A failure that may go away on its own: network errors, 5xx, 429. Retried with backoff. */
export class TransientError extends TaskplaneError {
  /** When the remote asked us to wait (429 Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { retryAfterMs?: number; code?: ErrorCode; cause?: unknown }) {
    super(options?.code ?? ErrorCode.Transient, message, { retryable: true, cause: options?.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A failure that will not go away by trying again: bad input, 4xx other than 429. */
export class PermanentError extends TaskplaneError {
  constructor(message: string, options?: { code?: ErrorCode; cause?: unknown }) {
    super(options?.code ?? ErrorCode.Permanent, message, { retryable: false, cause: options?.cause });
  }
}

export class CursorExpiredError extends TaskplaneError {
  constructor(cursor: string, oldest: string | null) {
    super(
      ErrorCode.CursorExpired,
      `cursor ${cursor} is older than the event stream's retention (oldest kept: ${oldest ?? 'none'}); reload the current state and resume from a fresh cursor`,
    );
  }
}

export class ConfigError extends TaskplaneError {
  constructor(message: string) {
    super(ErrorCode.Config, message);
  }
}

export class UnavailableError extends TaskplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unavailable, message, { retryable: true, cause: options?.cause });
  }
}

/** The wire form of an error: what records, events and API responses carry. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  fields?: FieldError[];
}

export function isTaskplaneError(error: unknown): error is TaskplaneError {
  return error instanceof TaskplaneError;
}
