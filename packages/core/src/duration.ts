import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration in configuration: `250ms`, `1s`, `5m`, `2h`, `7d`, or a bare number of seconds.
 * Parsed to milliseconds.
 */
export const Duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (value < 0 || !Number.isFinite(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected a non-negative duration' });
      return z.NEVER;
    }
    return Math.round(value * 1000);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 500ms, 1s, 5m, 2h or 7d, got "${value}"`,
    });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
});
