import { describe, expect, it } from 'vitest';
import { retryDelay } from './backoff';
import { toBullPriority } from './bull-priority';

const backoff = { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0 };

describe('retryDelay', () => {
  it('doubles from the base delay up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, backoff))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
  });

  it('jitters within the configured fraction', () => {
    const jittered = { ...backoff, jitter: 0.2 };
    expect(retryDelay(2, jittered, undefined, () => 0)).toBe(1600);
    expect(retryDelay(2, jittered, undefined, () => 1)).toBe(2400);
    expect(retryDelay(7, jittered, undefined, () => 1)).toBe(60_000);
  });

  it("follows the server's Retry-After", () => {
    expect(retryDelay(1, backoff, 7000)).toBe(7000);
  });
});

describe('toBullPriority', () => {
  it('runs priority 10 before 1 (lower BullMQ number first)', () => {
    expect(toBullPriority(10, 'fifo')).toBeLessThan(toBullPriority(9, 'fifo'));
    expect(toBullPriority(2, 'fifo')).toBeLessThan(toBullPriority(1, 'fifo'));
    expect(toBullPriority(1, 'lifo', 0)).toBeLessThanOrEqual(2 ** 21);
    expect(toBullPriority(10, 'lifo', 65_535)).toBeGreaterThanOrEqual(1);
  });

  it('gives newer LIFO tasks smaller numbers within their priority only', () => {
    expect(toBullPriority(5, 'lifo', 2)).toBeLessThan(toBullPriority(5, 'lifo', 1));
    expect(toBullPriority(5, 'lifo', 2)).toBeGreaterThan(toBullPriority(6, 'fifo'));
    expect(toBullPriority(5, 'lifo', 1)).toBeLessThan(toBullPriority(5, 'fifo'));
  });
});
