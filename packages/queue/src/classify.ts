import { ErrorCode, isTaskplaneError, type TaskplaneError, TransientError } from '@taskplane/core';
import type { EncodedFailure } from './job-data';

/**
 * Every handler failure becomes a classified Taskplane error: ours pass through; anything else
 * (a driver error, a bug) is transient with a message that names only its class, so internals do
 * not leak to clients.
 */
export function classify(error: unknown): TaskplaneError {
  if (isTaskplaneError(error)) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientError(
    `handler failed with ${name}: ${error instanceof Error ? error.message : String(error)}`,
    {
      code: ErrorCode.Transient,
      cause: error,
    },
  );
}

export function encodeFailure(error: TaskplaneError, attempt: number): string {
  const encoded: EncodedFailure = {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    attempt,
  };
  return JSON.stringify(encoded);
}

export function decodeFailure(text: string | undefined | null): EncodedFailure | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as EncodedFailure;
    return typeof value.code === 'string' ? value : null;
  } catch {
    return null;
  }
}
