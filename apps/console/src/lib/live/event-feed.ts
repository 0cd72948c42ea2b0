import type { Api } from '$lib/graphql/client.svelte';
import { ErrorCode, errorText, hasErrorCode } from '$lib/graphql/errors';
import type { ResultOf, VariablesOf } from '$lib/graphql/graphql';
import { EventCursorQuery, TaskEventsSubscription } from '$lib/graphql/tasks';

export type TaskEvent = ResultOf<typeof TaskEventsSubscription>['taskEvents'];
export type TaskEventKind = TaskEvent['kind'];
type Selection = Omit<VariablesOf<typeof TaskEventsSubscription>, 'after'>;

/** Events that change a task's status: what the stream and a timeline show. */
export const STATE_CHANGES: TaskEventKind[] = [
  'SUBMITTED',
  'BLOCKED',
  'READY',
  'STARTED',
  'SUCCEEDED',
  'FAILED',
  'RETRYING',
  'STALLED',
  'CANCELLED',
  'DEAD_LETTERED',
  'REQUEUED',
  'DELETED',
];

/**
 * Where a feed starts: `now` after the API's newest cursor (`eventCursor`), read before subscribing
 * so nothing that happens while the page subscribes is lost; `kept` from the oldest event the API
 * still keeps (`after: "0"`), a task's whole history.
 */
export type FeedStart = 'now' | 'kept';

export interface EventFeedOptions {
  /** Which events (filter, kinds, task ids); the cursor is the feed's. */
  select: Selection;
  start: FeedStart;
  /** Where to carry on when the API no longer keeps the events after the last cursor seen. */
  afterExpiry: FeedStart;
  /** The feed has its start cursor: from now on, nothing is missed. */
  following?(): void;
  next(event: TaskEvent): void;
  /** Events were lost (trimmed before they could be delivered); the feed carries on from `afterExpiry`. */
  expired(): void;
  /** What is wrong now, or null once a failed start has recovered. */
  problem(message: string | null): void;
}

// Until the API answers `eventCursor` (it may be restarting), ask again at this pace.
const CURSOR_RETRY_MS = [500, 1_000, 2_000, 5_000];

/**
 * Follows `taskEvents` from `start`. After the socket drops, the subscription resumes after the
 * last cursor seen (the API replays what was missed, with no gap and no duplicate); when that
 * cursor has expired, it says so through `expired` and starts over from `afterExpiry`. Returns stop.
 */
export function followEvents(api: Api, options: EventFeedOptions): () => void {
  let cursor = '0';
  let stopped = false;
  let unsubscribe: (() => void) | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;

  async function begin(from: FeedStart, attempt = 0): Promise<void> {
    if (from === 'now') {
      const result = await api.client.query(EventCursorQuery, {}).toPromise();
      if (stopped) return;
      if (!result.data) {
        options.problem(result.error?.message ?? 'could not read the event cursor');
        const wait = CURSOR_RETRY_MS[Math.min(attempt, CURSOR_RETRY_MS.length - 1)];
        retry = setTimeout(() => void begin(from, attempt + 1), wait);
        return;
      }
      cursor = result.data.eventCursor;
      if (attempt > 0) options.problem(null);
    } else {
      cursor = '0';
    }
    options.following?.();
    unsubscribe = api.live(TaskEventsSubscription, () => ({ ...options.select, after: cursor }), {
      next: ({ taskEvents }) => {
        cursor = taskEvents.cursor;
        options.next(taskEvents);
      },
      error: (errors) => {
        if (!hasErrorCode(errors, ErrorCode.CursorExpired)) {
          options.problem(errorText(errors));
          return;
        }
        options.expired();
        // Should the API ever refuse "0" itself, "kept" again would loop: carry on from now.
        const next = cursor === '0' ? 'now' : options.afterExpiry;
        if (!stopped) void begin(next);
      },
    });
  }

  void begin(options.start);
  return () => {
    stopped = true;
    clearTimeout(retry);
    unsubscribe?.();
  };
}
