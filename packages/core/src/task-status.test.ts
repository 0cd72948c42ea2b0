import { describe, expect, it } from 'vitest';
import { canTransition, isFinal, TASK_STATUSES, TRANSITIONS } from './task-status';

describe('status transition table', () => {
  it('allows the lifecycle moves', () => {
    expect(canTransition('pending', 'running')).toBe(true);
    expect(canTransition('running', 'retrying')).toBe(true);
    expect(canTransition('retrying', 'running')).toBe(true);
    expect(canTransition('running', 'success')).toBe(true);
    expect(canTransition('running', 'pending')).toBe(true);
    expect(canTransition('failed', 'dead_lettered')).toBe(true);
    expect(canTransition('dead_lettered', 'pending')).toBe(true);
  });

  it('rejects illegal moves', () => {
    expect(canTransition('success', 'running')).toBe(false);
    expect(canTransition('success', 'failed')).toBe(false);
    expect(canTransition('cancelled', 'success')).toBe(false);
    expect(canTransition('cancelled', 'running')).toBe(false);
    expect(canTransition('pending', 'success')).toBe(false);
    expect(canTransition('dead_lettered', 'running')).toBe(false);
  });

  it('covers every status and leads only to known statuses', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TASK_STATUSES].sort());
    for (const targets of Object.values(TRANSITIONS)) {
      for (const target of targets) expect(TASK_STATUSES).toContain(target);
    }
  });

  it('marks success, failed, cancelled and dead-lettered as final', () => {
    expect(TASK_STATUSES.filter(isFinal).sort()).toEqual(['cancelled', 'dead_lettered', 'failed', 'success']);
  });
});
