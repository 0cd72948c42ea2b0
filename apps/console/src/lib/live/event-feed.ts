import {
  type CursorFollow,
  EventCursorDocument,
  followCursor,
  type ResultOf,
  TaskEventsDocument,
  type VariablesOf,
} from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';

export type TaskEvent = ResultOf<typeof TaskEventsDocument>['taskEvents'];
export type TaskEventKind = TaskEvent['kind'];
type Selection = Omit<VariablesOf<typeof TaskEventsDocument>, 'after'>;

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
 * Follows `taskEvents` from `start` through the client's `followCursor`, the resume path the CLI
 * takes too: after the socket drops, the subscription resumes after the last cursor seen (the API
 * replays what was missed, with no gap and no duplicate); when that cursor has expired, it says so
 * through `expired` and starts over from `afterExpiry`. Returns stop.
 */
export function followEvents(api: Api, options: EventFeedOptions): () => void {
  let stopped = false;
  let follow: CursorFollow | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;

  /** The cursor `from` stands for; reading `now` waits for the API, however long it takes. */
  async function startCursor(from: FeedStart): Promise<string | null> {
    if (from === 'kept') return '0';
    for (let attempt = 0; ; attempt++) {
      const result = await api.client.query(EventCursorDocument, {}).toPromise();
      if (stopped) return null;
      if (result.data) {
        if (attempt > 0) options.problem(null);
        return result.data.eventCursor;
      }
      options.problem(result.error?.message ?? 'could not read the event cursor');
      const wait = CURSOR_RETRY_MS[Math.min(attempt, CURSOR_RETRY_MS.length - 1)];
      await new Promise((resolve) => {
        retry = setTimeout(resolve, wait);
      });
      if (stopped) return null;
    }
  }

  void startCursor(options.start).then((after) => {
    if (stopped) return;
    options.following?.();
    follow = followCursor(api.transport, TaskEventsDocument, {
      variables: () => options.select,
      after,
      cursorOf: ({ taskEvents }) => taskEvents.cursor,
      next: ({ taskEvents }) => options.next(taskEvents),
      error: (error) => options.problem(error.message),
      expired: () => {
        options.expired();
        // Should the API ever refuse "0" itself, "kept" again would loop: carry on from now.
        return startCursor(follow?.lastCursor === '0' ? 'now' : options.afterExpiry);
      },
    });
  });
  return () => {
    stopped = true;
    clearTimeout(retry);
    follow?.close();
  };
}
