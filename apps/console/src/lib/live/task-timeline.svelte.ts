import type { Api } from '$lib/graphql/client.svelte';
import { type TimelineEntry, timelineEntry } from '$lib/timeline';
import { followEvents, STATE_CHANGES } from './event-feed';

/** Why a timeline does not show everything that happened to its task. */
export const TimelineGap = {
  /** The event log no longer keeps the task's first events (an old task). */
  Trimmed: 'trimmed',
  /** The socket was down longer than the log keeps events: some in between are missing. */
  Missed: 'missed',
} as const;
export type TimelineGap = (typeof TimelineGap)[keyof typeof TimelineGap];

/**
 * One task's state changes as they happened, from `taskEvents(taskIds: [id], after: "0")`: its
 * whole kept history first, then live. The event log is capped (`events.stream_max_len`), so an old
 * task's first events may be gone; the timeline then shows what is left and says so.
 */
export class TaskTimeline {
  entries = $state.raw<TimelineEntry[]>([]);
  gap = $state<TimelineGap | null>(null);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #id: string;

  constructor(api: Api, id: string) {
    this.#api = api;
    this.#id = id;
  }

  /** Opens the subscription; returns `stop`. */
  start(): () => void {
    return followEvents(this.#api, {
      select: { taskIds: [this.#id], kinds: STATE_CHANGES },
      start: 'kept',
      afterExpiry: 'kept',
      next: (event) => {
        // Every task's history starts with its submission; a first event of another kind means
        // the ones before it were trimmed.
        if (this.entries.length === 0 && event.kind !== 'SUBMITTED') this.gap ??= TimelineGap.Trimmed;
        this.entries = [...this.entries, timelineEntry(event)];
      },
      expired: () => {
        // Starting over from what is kept: the entries already shown stay, later ones follow.
        this.gap = TimelineGap.Missed;
      },
      problem: (message) => {
        this.error = message;
      },
    });
  }
}
