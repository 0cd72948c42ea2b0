import {
  AlertEventsDocument,
  AlertHistoryDocument,
  AlertRulesDocument,
  type CursorFollow,
  FiringAlertsDocument,
  followCursor,
  type ResultOf,
} from '@taskplane/client';
import { type Api, reloadOnReconnect } from '$lib/graphql/client.svelte';

export type Alert = ResultOf<typeof FiringAlertsDocument>['firingAlerts'][number];
export type AlertEvent = ResultOf<typeof AlertEventsDocument>['alerts'];
export type AlertRule = ResultOf<typeof AlertRulesDocument>['alertRules'][number];

/** History events per page read. */
const PAGE = 50;
/**
 * Events the page keeps: live events are prepended and older pages appended, so a long-open page
 * would otherwise grow with the log; past this the oldest are dropped (and can be paged in again).
 */
export const HISTORY_CAP = 1_000;

/**
 * The Alerts page, live: the first page of history (whose newest cursor is where the live feed
 * starts, "0" on an empty log), then `firingAlerts`, then the `alerts` subscription after that
 * cursor through the client's `followCursor`, so an alert that fires or resolves between the reads
 * and the subscription is replayed, not lost. Replays are harmless: a fired alert replaces itself
 * by id, a resolved one is removed. After the socket drops the feed resumes after the last cursor
 * seen; when that cursor has expired, both are read again.
 */
export class LiveAlerts {
  /** Firing now, oldest first. */
  firing = $state.raw<Alert[]>([]);
  /** Fired and resolved events, newest first. */
  history = $state.raw<AlertEvent[]>([]);
  /** Where the next (older) history page starts; null when there is none. */
  olderCursor = $state<string | null>(null);
  /** The feed has its start cursor: from now on, nothing is missed. */
  following = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  #stopped = false;
  #follow: CursorFollow | null = null;

  constructor(api: Api) {
    this.#api = api;
  }

  /** Reads and follows; returns `stop`. */
  start(): () => void {
    void this.#begin();
    return () => {
      this.#stopped = true;
      this.#follow?.close();
    };
  }

  async #begin(): Promise<void> {
    const after = await this.#read();
    if (after === null || this.#stopped) return;
    this.#follow = followCursor(this.#api.transport, AlertEventsDocument, {
      variables: () => ({}),
      after,
      cursorOf: ({ alerts }) => alerts.cursor,
      next: ({ alerts: event }) => this.#apply(event),
      error: (error) => {
        this.error = error.message;
      },
      expired: async () => {
        const next = await this.#read();
        if (next === null) this.#follow?.close();
        return next;
      },
    });
    this.following = true;
  }

  /** Reads the newest history page, then what fires; returns the cursor to follow after, or null. */
  async #read(): Promise<string | null> {
    const page = await this.#page(null);
    if (page === null || this.#stopped) return null;
    const firing = await this.#api.client.query(FiringAlertsDocument, {}).toPromise();
    if (this.#stopped) return null;
    if (!firing.data) {
      this.error = firing.error?.message ?? 'could not read the firing alerts';
      return null;
    }
    this.firing = firing.data.firingAlerts;
    this.history = page.nodes;
    this.olderCursor = page.endCursor ?? null;
    this.loaded = true;
    this.error = null;
    return page.nodes[0]?.cursor ?? '0';
  }

  async #page(after: string | null) {
    const result = await this.#api.client.query(AlertHistoryDocument, { first: PAGE, after }).toPromise();
    const answer = result.data?.alerts;
    if (answer?.__typename === 'AlertEventConnection') return answer;
    this.error = answer?.message ?? result.error?.message ?? 'could not read the alert history';
    return null;
  }

  /** Appends the next older page of history. */
  async loadOlder(): Promise<void> {
    if (!this.olderCursor) return;
    const page = await this.#page(this.olderCursor);
    if (!page) return;
    const seen = new Set(this.history.map((e) => e.cursor));
    this.history = [...this.history, ...page.nodes.filter((e) => !seen.has(e.cursor))];
    this.olderCursor = page.endCursor ?? null;
  }

  #apply(event: AlertEvent): void {
    const others = this.firing.filter((a) => a.id !== event.alert.id);
    this.firing = event.kind === 'FIRED' ? [...others, event.alert] : others;
    if (this.history.some((e) => e.cursor === event.cursor)) return;
    const history = [event, ...this.history];
    if (history.length > HISTORY_CAP) {
      history.length = HISTORY_CAP;
      this.olderCursor = history.at(-1)!.cursor;
    }
    this.history = history;
  }
}

/** Every alert rule, read again after a reconnect and after each change made here. */
export class AlertRules {
  list = $state.raw<AlertRule[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
    reloadOnReconnect(api.connection, () => void this.reload());
  }

  async reload(): Promise<void> {
    const result = await this.#api.client.query(AlertRulesDocument, {}).toPromise();
    if (result.data) {
      this.list = result.data.alertRules;
      this.loaded = true;
      this.error = null;
    } else this.error = result.error?.message ?? 'could not read the alert rules';
  }

  /** Puts a rule as a mutation returned it in place (or at the end, when new). */
  replace(rule: AlertRule): void {
    const at = this.list.findIndex((r) => r.id === rule.id);
    this.list = at < 0 ? [...this.list, rule] : this.list.with(at, rule);
  }

  remove(id: string): void {
    this.list = this.list.filter((r) => r.id !== id);
  }
}
