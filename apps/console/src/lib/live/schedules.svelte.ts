import {
  type ResultOf,
  ScheduleDocument,
  ScheduleEventsDocument,
  ScheduleSummaryDocument,
  SchedulesDocument,
} from '@taskplane/client';
import { type Api, reloadOnReconnect } from '$lib/graphql/client.svelte';

export type Schedule = NonNullable<ResultOf<typeof ScheduleSummaryDocument>['schedule']>;
export type ScheduleDetail = NonNullable<ResultOf<typeof ScheduleDocument>['schedule']>;
export type TickOutcome = NonNullable<Schedule['lastOutcome']>;

/** The API's page cap: a console with more schedules than this would need paging. */
const PAGE = 500;
/** Next ticks shown on a schedule's page. */
export const NEXT_RUNS = 5;

/**
 * Runs `load` for a key, at most once at a time: a call while one runs makes it run once more when
 * it ends, however many calls came in between. An every-second schedule asks for one read a tick.
 */
function coalesced(load: (key: string) => Promise<void>): (key: string) => void {
  const running = new Set<string>();
  const again = new Set<string>();
  const run = (key: string) => {
    if (running.has(key)) {
      again.add(key);
      return;
    }
    running.add(key);
    void load(key).finally(() => {
      running.delete(key);
      if (again.delete(key)) run(key);
    });
  };
  return run;
}

function newestFirst(schedules: Schedule[]): Schedule[] {
  return schedules.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Every schedule (from `schedules`, then as the `schedules` subscription pushes changes, so another
 * operator's change shows without a reload). A tick event carries its outcome but not the schedule,
 * so the schedule is read again for its next run. Construct while a component initialises.
 */
export class LiveSchedules {
  list = $state.raw<Schedule[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #refresh = coalesced((id) => this.#reload(id));

  constructor(api: Api) {
    this.#api = api;
    reloadOnReconnect(api.connection, () => {
      void api.client
        .query(SchedulesDocument, { first: PAGE })
        .toPromise()
        .then((result) => {
          const answer = result.data?.schedules;
          if (answer?.__typename === 'ScheduleConnection') {
            this.list = newestFirst(answer.nodes);
            this.loaded = true;
          } else this.error = answer?.message ?? result.error?.message ?? null;
        });
    });
    $effect(() =>
      api.live(ScheduleEventsDocument, () => ({}), {
        next: ({ schedules: event }) => {
          if (event.kind === 'DELETED') this.remove(event.scheduleId);
          else if (event.schedule) this.replace(event.schedule);
          else if (event.outcome) {
            const outcome = event.outcome;
            this.list = this.list.map((s) =>
              s.id === event.scheduleId ? { ...s, lastOutcome: outcome } : s,
            );
            this.#refresh(event.scheduleId);
          }
        },
        error: (failure) => {
          this.error = failure.message;
        },
      }),
    );
  }

  /** Puts a schedule as a mutation or an event returned it in place (or in the list, when new). */
  replace(schedule: Schedule): void {
    const others = this.list.filter((s) => s.id !== schedule.id);
    this.list = newestFirst([...others, schedule]);
  }

  remove(id: string): void {
    this.list = this.list.filter((s) => s.id !== id);
  }

  async #reload(id: string): Promise<void> {
    const result = await this.#api.client.query(ScheduleSummaryDocument, { id }).toPromise();
    const schedule = result.data?.schedule;
    if (schedule && this.list.some((s) => s.id === id)) this.replace(schedule);
  }
}

/**
 * One schedule with its next runs and recent ticks, read again whenever the `schedules`
 * subscription says something happened to it (and by `reload`, after a reconnect).
 */
export class LiveSchedule {
  schedule = $state.raw<ScheduleDetail | null>(null);
  /** No schedule has this id (or it was deleted while shown). */
  missing = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #id: string;
  readonly #refresh = coalesced(() => this.#load());

  constructor(api: Api, id: string) {
    this.#api = api;
    this.#id = id;
  }

  /** Reads the schedule and follows its events; returns `stop`. */
  start(): () => void {
    this.reload();
    return this.#api.live(ScheduleEventsDocument, () => ({ scheduleId: this.#id }), {
      next: ({ schedules: event }) => {
        if (event.kind === 'DELETED') {
          this.schedule = null;
          this.missing = true;
        } else this.reload();
      },
      error: (failure) => {
        this.error = failure.message;
      },
    });
  }

  reload(): void {
    this.#refresh(this.#id);
  }

  /** Takes a mutation's answer until the next read. */
  apply(schedule: Schedule): void {
    if (this.schedule) this.schedule = { ...this.schedule, ...schedule };
    this.reload();
  }

  async #load(): Promise<void> {
    const result = await this.#api.client
      .query(ScheduleDocument, { id: this.#id, runs: NEXT_RUNS })
      .toPromise();
    if (result.error) {
      this.error = result.error.message;
      return;
    }
    this.schedule = result.data?.schedule ?? null;
    this.missing = !this.schedule;
  }
}
