import { describe, expect, it } from 'vitest';
import {
  type AlertInstanceState,
  AlertPhase,
  INITIAL_STATE,
  type SteppedRule,
  stepInstance,
} from './alert-state';

const RULE: SteppedRule = {
  comparison: 'gt',
  threshold: 0.1,
  forMs: 3_000,
  cooldownMs: 10_000,
  mutedUntil: null,
};
const MARGIN = 0.1;

/** Steps one instance through `values`, one per second, and lists the events it emitted with their times. */
function run(values: (number | null)[], rule = RULE, start: AlertInstanceState = INITIAL_STATE) {
  let state = start;
  const events: string[] = [];
  values.forEach((value, second) => {
    const result = stepInstance(state, value, rule, MARGIN, second * 1000);
    // The evaluator puts the alert in the state when one fires; any object stands for it here.
    state = result.event === 'fired' ? { ...result.state, alert: {} as never } : result.state;
    if (result.event) events.push(`${result.event}@${second}`);
  });
  return { events, state };
}

describe('the alert state machine', () => {
  it('fires once the condition held for the hold time, and resolves once it stayed clear as long', () => {
    const { events } = run([0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0]);
    expect(events).toEqual(['fired@3', 'resolved@8']);
  });

  it('does not fire on a breach shorter than the hold time', () => {
    expect(run([0.5, 0.5, 0, 0.5, 0.5, 0, 0.5]).events).toEqual([]);
  });

  it('a value oscillating just around the threshold fires once and never flaps', () => {
    // 0.101 and 0.099: over and under the threshold, but never clear of it by the 10 % margin (0.09).
    const hovering = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 0.101 : 0.099));
    // Held above for 3 s first, so it fires; then it hovers for a minute.
    const { events, state } = run([0.2, 0.2, 0.2, 0.2, ...hovering]);
    expect(events).toEqual(['fired@3']);
    expect(state.phase).toBe(AlertPhase.Firing);
  });

  it('a value dipping below the margin for less than the hold time does not resolve', () => {
    const dips = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0.05 : 0.2));
    expect(run([0.2, 0.2, 0.2, 0.2, ...dips]).events).toEqual(['fired@3']);
  });

  it('hovering just under the threshold after a resolve stays resolved', () => {
    const hovering = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 0.1 : 0.099));
    expect(run([0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, ...hovering]).events).toEqual(['fired@3', 'resolved@7']);
  });

  it('waits out the cooldown after a resolve before firing again, then fires if it still holds', () => {
    const values = [0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, ...Array(12).fill(0.5)];
    expect(run(values).events).toEqual(['fired@3', 'resolved@7', 'fired@17']);
  });

  it('a muted rule does not fire until the mute ends', () => {
    const muted = { ...RULE, mutedUntil: 8_000 };
    expect(run(Array(10).fill(0.5), muted).events).toEqual(['fired@8']);
  });

  it('no value (no data in the window) counts as clear', () => {
    expect(run([0.5, 0.5, 0.5, 0.5, null, null, null, null]).events).toEqual(['fired@3', 'resolved@7']);
  });

  it('lt rules resolve above threshold × (1 + margin)', () => {
    const low: SteppedRule = { ...RULE, comparison: 'lt', threshold: 100, forMs: 0 };
    expect(run([50, 105, 95, 109, 111], low).events).toEqual(['fired@0', 'resolved@4']);
  });

  it('with no hold time a zero threshold fires at once and resolves at zero', () => {
    const zero: SteppedRule = { ...RULE, threshold: 0, forMs: 0, cooldownMs: 0 };
    expect(run([0, 3, 2, 0, 1], zero).events).toEqual(['fired@1', 'resolved@3', 'fired@4']);
  });
});
