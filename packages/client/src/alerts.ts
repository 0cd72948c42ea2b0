import {
  AlertEventsDocument,
  type AlertEventsSubscription,
  type AlertEventsSubscriptionVariables,
  AlertHistoryDocument,
  type AlertHistoryQueryVariables,
  AlertRulesDocument,
  FiringAlertsDocument,
} from './generated/graphql';
import { type ResumableStream, resumable } from './resume';
import type { Transport } from './transport';

/** One event of `watchAlerts`: an alert fired or resolved, with its cursor. */
export type AlertEvent = AlertEventsSubscription['alerts'];

/**
 * Alert events, live. Each event's cursor is remembered, and a dropped socket re-subscribes after
 * the last one, so nothing is missed or repeated; to survive a restart, save `event.cursor` once
 * the event is handled and pass it back as `after` (the alert bot in examples/alert-bot does).
 * Without `after` it starts live; `after: "0"` replays every alert event the log keeps.
 */
export function watchAlerts(
  transport: Transport,
  variables: AlertEventsSubscriptionVariables = {},
): ResumableStream<AlertEvent> {
  return resumable(
    transport,
    AlertEventsDocument,
    variables,
    (data) => data.alerts,
    (data) => data.alerts.cursor,
  );
}

/** A page of the alert history, newest first (`endCursor` is the next page's `after`). */
export async function alertHistory(transport: Transport, variables: AlertHistoryQueryVariables = {}) {
  return (await transport.request(AlertHistoryDocument, variables)).alerts;
}

/** The alerts firing now. */
export async function firingAlerts(transport: Transport) {
  return (await transport.request(FiringAlertsDocument)).firingAlerts;
}

/** Every alert rule, configured and made through the API. */
export async function alertRules(transport: Transport) {
  return (await transport.request(AlertRulesDocument)).alertRules;
}
