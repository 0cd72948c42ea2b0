import { TasksDocument } from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';
import { followEvents, STATE_CHANGES, type TaskEvent } from './event-feed';

/** A task a schedule submitted, as its latest event or record shows it. */
export interface ScheduledTask {
  id: string;
  status: TaskEvent['status'];
  /** When it was submitted (for the order) and when its status last changed. */
  createdAt: string;
  updatedAt: string;
}

/** Tasks shown; the count stays exact beyond. */
const SHOWN = 20;

/**
 * The tasks one schedule submitted, newest first, with their status kept current by `taskEvents`
 * filtered by `scheduleId`: a new tick's task appears as it is submitted. The subscription starts
 * after the API's newest cursor, read before the first page, so a task submitted in between shows
 * in one or the other (or both, merged by id) and the count adds each task once.
 */
export class ScheduleTasks {
  list = $state.raw<ScheduledTask[]>([]);
  /** Every task of the schedule the API knows of, and every one seen since. */
  count = $state<number | null>(null);
  /** The feed has its start cursor: every new task from then on will show. */
  following = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #scheduleId: string;
  readonly #byId = new Map<string, ScheduledTask>();
  /** Tasks whose submission the feed saw. */
  readonly #submitted = new Set<string>();
  /** The first page's tasks, once it is loaded. */
  #page: Set<string> | null = null;

  constructor(api: Api, scheduleId: string) {
    this.#api = api;
    this.#scheduleId = scheduleId;
  }

  /** Opens the subscription, then loads the first page; returns `stop`. */
  start(): () => void {
    return followEvents(this.#api, {
      select: { filter: { scheduleId: this.#scheduleId }, kinds: STATE_CHANGES },
      start: 'now',
      afterExpiry: 'now',
      following: () => {
        this.following = true;
        if (!this.#page) void this.#loadFirst();
      },
      next: (event) => this.#apply(event),
      expired: () => {
        this.error =
          'The connection was down longer than the API keeps events; some task changes were missed.';
      },
      problem: (message) => {
        this.error = message;
      },
    });
  }

  #apply(event: TaskEvent): void {
    const known = this.#byId.get(event.taskId);
    if (event.kind === 'SUBMITTED' && !this.#submitted.has(event.taskId)) {
      this.#submitted.add(event.taskId);
      // Before the first page, the page's total will say whether it counts this one.
      if (this.#page && !this.#page.has(event.taskId) && this.count !== null) this.count++;
    }
    // A change to a task older than those shown (or deleted): nothing on the page shows it.
    if ((!known && event.kind !== 'SUBMITTED') || event.kind === 'DELETED') return;
    this.#merge({
      id: event.taskId,
      status: event.status,
      createdAt: known?.createdAt ?? event.at,
      updatedAt: event.at,
    });
  }

  async #loadFirst(): Promise<void> {
    const result = await this.#api.client
      .query(TasksDocument, { filter: { scheduleId: this.#scheduleId }, first: SHOWN })
      .toPromise();
    if (!result.data) {
      this.error = result.error?.message ?? 'could not load the tasks';
      return;
    }
    const { nodes, totalCount } = result.data.tasks;
    this.#page = new Set(nodes.map((task) => task.id));
    for (const task of nodes)
      this.#merge({ id: task.id, status: task.status, createdAt: task.createdAt, updatedAt: task.updatedAt });
    // The feed started before the page was read: a task it saw submitted is in `totalCount` when
    // it is on the page (the newest tasks), and came after the page was read when it is not.
    const later = [...this.#submitted].filter((id) => !this.#page?.has(id)).length;
    this.count = totalCount + later;
  }

  #merge(task: ScheduledTask): void {
    const known = this.#byId.get(task.id);
    if (known && known.updatedAt > task.updatedAt) return;
    this.#byId.set(task.id, { ...task, createdAt: known?.createdAt ?? task.createdAt });
    this.list = [...this.#byId.values()]
      .toSorted((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))
      .slice(0, SHOWN);
    // Only the shown tasks are followed, so an every-second schedule left open stays bounded.
    if (this.#byId.size > SHOWN) {
      const shown = new Set(this.list.map((t) => t.id));
      for (const id of this.#byId.keys()) if (!shown.has(id)) this.#byId.delete(id);
    }
    if (this.#submitted.size > SHOWN * 5 && this.#page) this.#submitted.clear();
  }
}
