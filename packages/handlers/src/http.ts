import {
  ErrorCode,
  type HandlerContext,
  PermanentError,
  TimeoutError,
  TransientError,
} from '@taskplane/core';

export interface FetchJsonOptions {
  /** The task's signal. When it aborts, the request is dropped and its reason is thrown as is. */
  signal: AbortSignal;
  /** Gives up on one request (headers and body) after this long: `TimeoutError`. Default 30 000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The options every handler passes: the task's signal and the configured request timeout. */
export function requestOptions(ctx: Pick<HandlerContext, 'signal' | 'settings'>): FetchJsonOptions {
  return { signal: ctx.signal, timeoutMs: ctx.settings.requestTimeoutMs };
}

/**
 * Milliseconds to wait from a Retry-After header (delay in seconds, or an HTTP date); undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^[0-9]+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * GETs a URL and parses its JSON body, turning every failure into an error that steers retries:
 *
 * - network errors, 5xx, 408 and a malformed body: `TransientError`; a timeout: `TimeoutError`;
 * - 429: `TransientError` with code `RATE_LIMITED` and `retryAfterMs` from Retry-After;
 * - any other 4xx: `PermanentError` (code `NOT_FOUND` for a 404).
 *
 * An abort of `options.signal` rejects with the signal's reason, untouched, so cancellation stays
 * cancellation. Messages name the method, the URL's path and the status, never the query or the
 * remote's body (they may carry tokens or internals).
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  if (!URL.canParse(url)) throw new PermanentError('cannot fetch: not a valid URL');
  const where = `GET ${new URL(url).pathname}`;
  let status = 0;
  try {
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, timeout]),
      headers: { accept: 'application/json' },
    });
    status = response.status;
    if (response.ok) {
      const text = await response.text();
      try {
        return JSON.parse(text);
      } catch (cause) {
        throw new TransientError(`${where} answered ${status} with a malformed JSON body`, { cause });
      }
    }
    await response.body?.cancel();
    throw statusError(where, response);
  } catch (error) {
    signal.throwIfAborted();
    if (timeout.aborted) throw new TimeoutError(`${where} timed out after ${timeoutMs} ms`);
    if (error instanceof TransientError || error instanceof PermanentError) throw error;
    const during = status === 0 ? 'failed' : `failed reading the ${status} body`;
    throw new TransientError(`${where} ${during}: network error`, { cause: error });
  }
}

function statusError(where: string, response: Response): TransientError | PermanentError {
  const { status } = response;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return new TransientError(`${where} was rate limited (429)`, {
      code: ErrorCode.RateLimited,
      retryAfterMs,
    });
  }
  if (status === 404) return new PermanentError(`${where} answered 404`, { code: ErrorCode.NotFound });
  if (status >= 400 && status < 500 && status !== 408) {
    return new PermanentError(`${where} answered ${status}`);
  }
  return new TransientError(`${where} answered ${status}`);
}
