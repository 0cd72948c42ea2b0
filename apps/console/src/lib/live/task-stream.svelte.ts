import type { Api } from '$lib/graphql/client.svelte';
import type { ResultOf, VariablesOf } from '$lib/graphql/graphql';
import { TaskEventsSubscription, TasksQuery } from '$lib/graphql/tasks';

export type TaskFilter = NonNullable<VariablesOf<typeof TasksQuery>['filter']>;
type TaskEvent = ResultOf<typeof TaskEventsSubscription>['taskEvents'];
type TaskSummary = ResultOf<typeof TasksQuery>['tasks']['nodes'][number];
export type TaskEventKind = TaskEvent['kind'];

/** Events that change a task's status: what the stream shows unless logs and progress are asked for. */
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
];

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

/** Rows kept in memory; older ones are still reachable through history. */
const MAX_ROWS = 5_000;
const HISTORY_PAGE = 50;
const CURSOR_EXPIRED = 'CURSOR_EXPIRED';
/**
 * The stream starts from a cursor made of the browser's clock (cursors are `<ms>-<seq>`) rather
 * than "live from whenever the API registers the subscription", so nothing that happens while the
 * page subscribes is lost. It reaches this far back to allow for a browser clock ahead of the API's.
 */
const CLOCK_SKEW_MS = 1_000;

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
 * are applied once per animation frame, however fast they come; while paused they are buffered and
 * applied on resume. After the socket drops, the subscription resumes after the last cursor seen,
 * so nothing is missed or shown twice. History pages come from `tasks(filter, first, after)`.
 */
export class TaskStream {
  /** Live events, newest first. */
  live = $state.raw<StreamRow[]>([]);
  /** Older tasks paged in from history, newest first. */
  history = $state.raw<StreamRow[]>([]);
  paused = $state(false);
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
  #cursor: string | null = null;
  #since = Date.now() - CLOCK_SKEW_MS;
  #historyCursor: string | null = null;
  #pending: StreamRow[] = [];
  #frame = 0;
  #unsubscribe: (() => void) | null = null;
  #stopped = false;

  /** `kinds`: which events to show; all when omitted. */
  constructor(api: Api, filter: TaskFilter, kinds?: TaskEventKind[]) {
    this.#api = api;
    this.#filter = filter;
    this.#kinds = kinds;
  }

  /** Opens the subscription and loads the first history page; returns `stop`. */
  start(): () => void {
    this.#subscribe();
    void this.loadOlder();
    return () => this.stop();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    cancelAnimationFrame(this.#frame);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.#schedule();
  }

  async loadOlder(): Promise<void> {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    const result = await this.#api.client
      .query(TasksQuery, { filter: this.#filter, first: HISTORY_PAGE, after: this.#historyCursor })
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

  #subscribe(): void {
    this.#unsubscribe = this.#api.live(TaskEventsSubscription, () => this.#variables(), {
      next: ({ taskEvents }) => {
        this.#cursor = taskEvents.cursor;
        this.#pending.push(eventRow(taskEvents));
        this.#schedule();
      },
      error: (errors) => {
        if (errors.some((error) => error.extensions?.code === CURSOR_EXPIRED)) {
          // The API no longer keeps events that old: carry on live and say some were missed.
          this.#cursor = null;
          this.#since = Date.now() - CLOCK_SKEW_MS;
          this.error = 'The connection was down longer than the API keeps events; some events were missed.';
          if (!this.#stopped) this.#subscribe();
          return;
        }
        this.error = errors.map((error) => error.message).join('; ');
      },
    });
  }

  /** Variables for each (re)subscription: everything after the last event seen, or since the start. */
  #variables(): VariablesOf<typeof TaskEventsSubscription> {
    const { status, type, queue, labels } = this.#filter;
    return {
      filter: { status, type, queue, labels },
      kinds: this.#kinds,
      after: this.#cursor ?? `${this.#since}-0`,
    };
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
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
