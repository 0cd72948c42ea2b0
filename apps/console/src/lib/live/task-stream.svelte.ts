import { type ResultOf, TasksDocument, type VariablesOf } from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';
import { followEvents, type TaskEvent, type TaskEventKind } from './event-feed';

export { STATE_CHANGES, type TaskEventKind } from './event-feed';
export type TaskFilter = NonNullable<VariablesOf<typeof TasksDocument>['filter']>;
type TaskSummary = ResultOf<typeof TasksDocument>['tasks']['nodes'][number];

/** One line of the task stream: an event as it happened, or (from history) a task as it is now. */
export interface StreamRow {
  /** Unique per row: `e<n>` for an event, `task:<id>` for a history row. */
  key: string;
  at: string;
  /** null for a history row. */
  kind: TaskEventKind | null;
  status: TaskEvent['status'];
  taskId: string;
  type: string;
  queue: string;
  labels: readonly { key: string; value: string }[];
  /** The error of a failed attempt or the latest error of a history row. */
  message: string | null;
}

/**
 * Rows kept in memory; older ones are still reachable through history. At a thousand events a
 * second this is ten seconds of a burst, and the list only ever renders the rows in view.
 */
const MAX_ROWS = 10_000;
const HISTORY_PAGE = 50;
/**
 * While events keep coming, they are applied at most this often (still in an animation frame).
 * Every application redraws each row in view, since all of them move down: at 60 a second that
 * was most of the main thread in a trace at 1,000 events/s, more than anyone can read. A first
 * event after a quiet spell still shows in the next frame.
 */
const APPLY_EVERY_MS = 100;

// Row keys are local, not cursors: should the API ever send an event twice, it shows twice.
let rowSequence = 0;

function eventRow(event: TaskEvent): StreamRow {
  const data = event.data as { error?: { message?: string } } | null;
  return {
    key: `e${++rowSequence}`,
    at: event.at,
    kind: event.kind,
    status: event.status,
    taskId: event.taskId,
    type: event.type,
    queue: event.queue,
    labels: event.labels,
    message: data?.error?.message ?? null,
  };
}

function historyRow(task: TaskSummary): StreamRow {
  return {
    key: `task:${task.id}`,
    at: task.createdAt,
    kind: null,
    status: task.status,
    taskId: task.id,
    type: task.type,
    queue: task.queue,
    labels: task.labels,
    message: task.lastError?.message ?? null,
  };
}

/**
 * The live task stream behind the Tasks page. Events arrive over the `taskEvents` subscription and
 * are applied together in an animation frame, at most every `APPLY_EVERY_MS`, however fast they
 * come; while paused they are buffered and applied on resume. It starts after the API's newest
 * cursor, read before subscribing (not the browser's clock, which may be off), and after the
 * socket drops it resumes after the last cursor seen, so nothing is missed or shown twice. History
 * pages come from `tasks(filter, first, after)`.
 */
export class TaskStream {
  /** Live events, newest first. */
  live = $state.raw<StreamRow[]>([]);
  /** Older tasks paged in from history, newest first. */
  history = $state.raw<StreamRow[]>([]);
  paused = $state(false);
  /** The stream has its start cursor: every event from then on will show. */
  following = $state(false);
  /** Events waiting while paused. */
  buffered = $state(0);
  /** Events received since the stream started. */
  received = $state(0);
  totalCount = $state<number | null>(null);
  hasOlder = $state(false);
  loadingOlder = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #filter: TaskFilter;
  readonly #kinds: TaskEventKind[] | undefined;
  #historyCursor: string | null = null;
  #pending: StreamRow[] = [];
  #frame = 0;
  #wait: ReturnType<typeof setTimeout> | undefined;
  #appliedAt = Number.NEGATIVE_INFINITY;
  #unfollow: (() => void) | null = null;
  #stopped = false;

  /** `kinds`: which events to show; all when omitted. */
  constructor(api: Api, filter: TaskFilter, kinds?: TaskEventKind[]) {
    this.#api = api;
    this.#filter = filter;
    this.#kinds = kinds;
  }

  /** Opens the subscription and loads the first history page; returns `stop`. */
  start(): () => void {
    // What events can be judged by (creation times and error text are for lists only).
    const { status, type, queue, labels, scheduleId } = this.#filter;
    this.#unfollow = followEvents(this.#api, {
      select: { filter: { status, type, queue, labels, scheduleId }, kinds: this.#kinds },
      start: 'now',
      // Replaying everything kept could be a hundred thousand events: carry on from now instead.
      afterExpiry: 'now',
      following: () => {
        this.following = true;
      },
      next: (event) => {
        this.#pending.push(eventRow(event));
        this.#schedule();
      },
      expired: () => {
        this.error = 'The connection was down longer than the API keeps events; some events were missed.';
      },
      problem: (message) => {
        this.error = message;
      },
    });
    void this.loadOlder();
    return () => this.stop();
  }

  stop(): void {
    this.#stopped = true;
    this.#unfollow?.();
    cancelAnimationFrame(this.#frame);
    clearTimeout(this.#wait);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // Show what was held at once, not after the interval.
    this.#appliedAt = Number.NEGATIVE_INFINITY;
    clearTimeout(this.#wait);
    this.#wait = undefined;
    this.#schedule();
  }

  async loadOlder(): Promise<void> {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    const result = await this.#api.client
      .query(TasksDocument, { filter: this.#filter, first: HISTORY_PAGE, after: this.#historyCursor })
      .toPromise();
    this.loadingOlder = false;
    if (this.#stopped) return;
    if (!result.data) {
      this.error = result.error?.message ?? 'could not load history';
      return;
    }
    const { nodes, pageInfo, totalCount } = result.data.tasks;
    this.history = [...this.history, ...nodes.map(historyRow)];
    this.#historyCursor = pageInfo.endCursor ?? null;
    this.hasOlder = pageInfo.hasNextPage;
    this.totalCount = totalCount;
  }

  #schedule(): void {
    if (this.#frame || this.#wait !== undefined) return;
    // Wait out the interval with a timer, not frame after idle frame: each frame costs a render.
    const wait = this.#appliedAt + APPLY_EVERY_MS - performance.now();
    if (wait > 0) {
      this.#wait = setTimeout(() => {
        this.#wait = undefined;
        this.#schedule();
      }, wait);
      return;
    }
    this.#frame = requestAnimationFrame((now) => {
      this.#frame = 0;
      this.#appliedAt = now;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.paused) {
      this.buffered = this.#pending.length;
      return;
    }
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.received += batch.length;
    this.buffered = 0;
    batch.reverse();
    this.live = (batch.length >= MAX_ROWS ? batch : [...batch, ...this.live]).slice(0, MAX_ROWS);
  }
}
