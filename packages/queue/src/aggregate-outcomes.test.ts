import { type ChildOutcome, MAX_AGGREGATED_RESULTS } from '@taskplane/core';
import { describe, expect, it } from 'vitest';
import { aggregateOutcomes } from './task-runner';

const success = (i: number): ChildOutcome => ({ id: `c${i}`, status: 'success', result: i, error: null });

describe('a parent result aggregated from its children', () => {
  it('counts every child and lists at most MAX_AGGREGATED_RESULTS results', () => {
    const outcomes = Array.from({ length: MAX_AGGREGATED_RESULTS + 5 }, (_, i) => success(i));
    outcomes.push({
      id: 'bad',
      status: 'failed',
      result: null,
      error: { code: 'PERMANENT', message: 'no', retryable: false },
    });
    const result = aggregateOutcomes(outcomes, outcomes.length + 2);
    expect(result).toMatchObject({
      total: MAX_AGGREGATED_RESULTS + 8,
      succeeded: MAX_AGGREGATED_RESULTS + 5,
      failed: 1,
      ignored: 2,
      truncated: true,
    });
    expect(Object.keys(result.results)).toHaveLength(MAX_AGGREGATED_RESULTS);
    expect(result.results.c0).toBe(0);
  });
});
