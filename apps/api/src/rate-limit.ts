import { ErrorCode, TaskplaneError } from '@taskplane/core';

export class RateLimitedError extends TaskplaneError {
  constructor(readonly retryAfterSeconds: number) {
    super(ErrorCode.RateLimited, `rate limit reached; try again in ${retryAfterSeconds} s`, {
      retryable: true,
    });
  }
}

/**
 * Requests per minute per token, counted in fixed one-minute windows in this process (each API
 * process enforces its own share; run N processes, allow N times as much in total).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perMinute: number | null) {}

  /** Throws `RateLimitedError` when `key` is over its limit. */
  take(key: string, now = Date.now()): void {
    if (this.perMinute === null) return;
    let window = this.windows.get(key);
    if (!window || now - window.start >= 60_000) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      if (this.windows.size > 10_000) this.windows.clear();
    }
    window.count++;
    if (window.count > this.perMinute)
      throw new RateLimitedError(Math.ceil((window.start + 60_000 - now) / 1000));
  }
}
