import type { Backoff } from '@taskplane/core';

/**
 * Delay before retry number `attempt` (1 = the first retry): min(max, base x 2^(attempt-1)), then
 * jittered by +-jitter and kept within [0, max]. A server's Retry-After wins when it asked for one.
 */
export function retryDelay(
  attempt: number,
  backoff: Backoff,
  retryAfterMs?: number,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.round(retryAfterMs);
  const exact = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exact * (1 + backoff.jitter * (2 * random() - 1));
  return Math.round(Math.min(backoff.maxDelayMs, Math.max(0, jittered)));
}
