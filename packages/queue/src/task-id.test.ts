import { describe, expect, it } from 'vitest';
import { newTaskId } from './task-id';

describe('newTaskId', () => {
  it('never repeats across many ids drawn in one millisecond, past the random pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => newTaskId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^t[0-9a-z]{9}[0-9a-f]{10}$/);
  });

  it('sorts by creation time as a string', () => {
    const earlier = newTaskId(1_700_000_000_000);
    const later = newTaskId(1_700_000_000_001);
    expect([later, earlier].sort()).toEqual([earlier, later]);
  });
});
