import { type Alert, type AlertComparison, AlertEventKind, type AlertRule } from '@taskplane/core';

/** Where one rule instance (a rule and a queue, or a worker) stands. */
export const AlertPhase = {
  /** The condition does not hold. */
  Ok: 'ok',
  /** It holds, not yet for the rule's `for` time (or the rule is muted, or cooling down). */
  Pending: 'pending',
  /** The alert fired and its condition still holds. */
  Firing: 'firing',
  /** The alert fired and its condition has been clear, not yet for the `for` time. */
  Resolving: 'resolving',
} as const;
export type AlertPhase = (typeof AlertPhase)[keyof typeof AlertPhase];

/** One rule instance's state as the evaluator keeps it in Redis (`Keys.alertState`). */
export interface AlertInstanceState {
  phase: AlertPhase;
  /** When the current phase began (epoch ms). */
  since: number;
  /** The alert out there while firing or resolving; null otherwise. */
  alert: Alert | null;
  /** When its last alert resolved, for the cooldown; null when none did. */
  resolvedAt: number | null;
}

export const INITIAL_STATE: AlertInstanceState = {
  phase: AlertPhase.Ok,
  since: 0,
  alert: null,
  resolvedAt: null,
};

/** What a rule needs to be stepped. */
export type SteppedRule = Pick<AlertRule, 'comparison' | 'threshold' | 'forMs' | 'cooldownMs' | 'mutedUntil'>;

export interface StepResult {
  state: AlertInstanceState;
  /** Fired: the caller makes the alert and puts it in `state.alert`; resolved: `state.alert` was it. */
  event: AlertEventKind | null;
}

function compare(value: number, comparison: AlertComparison, threshold: number): boolean {
  switch (comparison) {
    case 'gt':
      return value > threshold;
    case 'gte':
      return value >= threshold;
    case 'lt':
      return value < threshold;
    case 'lte':
      return value <= threshold;
  }
}

/** Is the condition met? No value (no data in the window) never is. */
export function breaches(value: number | null, rule: SteppedRule): boolean {
  return value !== null && compare(value, rule.comparison, rule.threshold);
}

/**
 * Is the value clear of the threshold by the hysteresis margin: for `gt`/`gte` below
 * `threshold − margin × |threshold|`, for `lt`/`lte` above `threshold + margin × |threshold|`?
 * A value between that and the threshold keeps a firing alert firing.
 */
export function clears(value: number | null, rule: SteppedRule, margin: number): boolean {
  if (value === null) return true;
  const band = margin * Math.abs(rule.threshold);
  const shifted =
    rule.comparison === 'gt' || rule.comparison === 'gte' ? rule.threshold - band : rule.threshold + band;
  return !compare(value, rule.comparison, shifted);
}

/**
 * One evaluation of one instance: the state machine ok → pending → firing → resolving → ok. Fires
 * once the condition held for `forMs` (unless muted or within `cooldownMs` of the last resolve:
 * then it waits, pending); resolves once the value stayed clear by the margin for `forMs`. A
 * value hovering at the threshold therefore neither fires nor resolves over and over.
 */
export function stepInstance(
  state: AlertInstanceState,
  value: number | null,
  rule: SteppedRule,
  margin: number,
  now: number,
): StepResult {
  const stay = { state, event: null };
  const breach = breaches(value, rule);
  const mayFire = (since: number): StepResult => {
    const muted = rule.mutedUntil !== null && rule.mutedUntil > now;
    const cooling = state.resolvedAt !== null && now - state.resolvedAt < rule.cooldownMs;
    if (now - since < rule.forMs || muted || cooling) {
      return { state: { ...state, phase: AlertPhase.Pending, since }, event: null };
    }
    return { state: { ...state, phase: AlertPhase.Firing, since: now }, event: AlertEventKind.Fired };
  };
  const mayResolve = (since: number): StepResult => {
    if (now - since < rule.forMs)
      return { state: { ...state, phase: AlertPhase.Resolving, since }, event: null };
    return {
      state: { phase: AlertPhase.Ok, since: now, alert: state.alert, resolvedAt: now },
      event: AlertEventKind.Resolved,
    };
  };
  switch (state.phase) {
    case AlertPhase.Ok:
      return breach ? mayFire(now) : stay;
    case AlertPhase.Pending:
      return breach
        ? mayFire(state.since)
        : { state: { ...state, phase: AlertPhase.Ok, since: now }, event: null };
    case AlertPhase.Firing:
      return clears(value, rule, margin) ? mayResolve(now) : stay;
    case AlertPhase.Resolving:
      return clears(value, rule, margin)
        ? mayResolve(state.since)
        : { state: { ...state, phase: AlertPhase.Firing, since: now }, event: null };
  }
}
