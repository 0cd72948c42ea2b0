import {
  type CursorFollow,
  EventCursorDocument,
  followCursor,
  type ResultOf,
  WorkflowDocument,
  WorkflowEventsDocument,
} from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';

export type Workflow = NonNullable<ResultOf<typeof WorkflowDocument>['workflow']>;
export type WorkflowSummary = Omit<Workflow, 'nodes' | 'edges'>;
type NodeEvent = ResultOf<typeof WorkflowEventsDocument>['workflow'];

/**
 * One workflow, live: the cursor first (`eventCursor`), then the graph (`workflow`), then the
 * `workflow(id)` subscription's node deltas after that cursor, so nothing falls between the read and
 * the subscription. After the socket drops, the subscription resumes after the last cursor seen
 * (the variables are read again on every resubscription); when that cursor has expired, the graph
 * is read again and the feed starts over. Deltas are applied once per animation frame: a workflow
 * of a thousand nodes can change faster than the page should redraw.
 */
export class LiveWorkflow {
  /** The workflow's name, status, counts and times, as the latest event left them. */
  workflow = $state.raw<WorkflowSummary | null>(null);
  /** Nodes and edges: they never change after submit, so the layout is computed once per read. */
  graph = $state.raw<Pick<Workflow, 'nodes' | 'edges'> | null>(null);
  /** Each node's task status by node key, as the deltas left it. */
  statuses = $state.raw<ReadonlyMap<string, string>>(new Map());
  /** No workflow has this id. */
  missing = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;
  readonly #id: string;
  #pending: NodeEvent[] = [];
  #frame = 0;
  #stopped = false;
  #follow: CursorFollow | null = null;

  constructor(api: Api, id: string) {
    this.#api = api;
    this.#id = id;
  }

  /** Reads the workflow and follows its changes; returns `stop`. */
  start(): () => void {
    void this.#begin();
    return () => {
      this.#stopped = true;
      cancelAnimationFrame(this.#frame);
      this.#follow?.close();
    };
  }

  async #begin(): Promise<void> {
    const after = await this.#read();
    if (after === null || this.#stopped) return;
    this.#follow = followCursor(this.#api.transport, WorkflowEventsDocument, {
      variables: () => ({ id: this.#id }),
      after,
      cursorOf: ({ workflow }) => workflow.cursor,
      next: ({ workflow: event }) => {
        this.#pending.push(event);
        this.#frame ||= requestAnimationFrame(() => {
          this.#frame = 0;
          this.#flush();
        });
      },
      error: (error) => {
        this.error = error.message;
      },
      // Events were lost: read the graph again and carry on after the cursor read before it.
      expired: async () => {
        const next = await this.#read();
        if (next === null) this.#follow?.close();
        return next;
      },
    });
  }

  /**
   * Reads the event cursor, then the graph; returns the cursor, or null when a read failed or the
   * workflow is gone (`error`, `missing` say which).
   */
  async #read(): Promise<string | null> {
    const cursor = await this.#api.client.query(EventCursorDocument, {}).toPromise();
    if (this.#stopped) return null;
    if (!cursor.data) {
      this.error = cursor.error?.message ?? 'could not read the event cursor';
      return null;
    }
    const result = await this.#api.client.query(WorkflowDocument, { id: this.#id }).toPromise();
    if (this.#stopped) return null;
    if (result.error) {
      this.error = result.error.message;
      return null;
    }
    const workflow = result.data?.workflow ?? null;
    this.missing = !workflow;
    if (!workflow) return null;
    this.#pending = [];
    const { nodes, edges, ...summary } = workflow;
    this.workflow = summary;
    this.graph = { nodes, edges };
    this.statuses = new Map(workflow.nodes.map((n) => [n.key, n.task?.status ?? 'PENDING']));
    this.error = null;
    return cursor.data.eventCursor;
  }

  #flush(): void {
    if (!this.workflow || !this.#pending.length) return;
    const statuses = new Map(this.statuses);
    let summary: WorkflowSummary | null = null;
    for (const event of this.#pending) {
      statuses.set(event.key, event.status);
      summary = event.workflow ?? summary;
    }
    this.#pending = [];
    this.statuses = statuses;
    if (summary) this.workflow = { ...this.workflow, ...summary };
  }
}
