import { type ResultOf, WorkflowsDocument } from '@taskplane/client';
import { type Api, reloadOnReconnect } from '$lib/graphql/client.svelte';

type Page = Extract<ResultOf<typeof WorkflowsDocument>['workflows'], { __typename: 'WorkflowConnection' }>;
export type WorkflowRow = Page['nodes'][number];

/** The API's page cap. */
const PAGE = 100;

/**
 * The newest workflows, read on open, after every reconnect, and on `reload`. Not pushed live: the
 * API has no subscription over all workflows (only one workflow's nodes), and one subscription per
 * listed workflow would cost more than this page is worth; each workflow's own page is live.
 * Construct while a component initialises.
 */
export class WorkflowList {
  list = $state.raw<WorkflowRow[]>([]);
  loaded = $state(false);
  /** More than a page exists; older ones are not listed. */
  more = $state(false);
  error = $state<string | null>(null);

  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
    reloadOnReconnect(api.connection, () => this.reload());
  }

  reload(): void {
    void this.#api.client
      .query(WorkflowsDocument, { first: PAGE })
      .toPromise()
      .then((result) => {
        const answer = result.data?.workflows;
        if (answer?.__typename === 'WorkflowConnection') {
          this.list = answer.nodes;
          this.more = answer.endCursor !== null;
          this.loaded = true;
          this.error = null;
        } else this.error = answer?.message ?? result.error?.message ?? 'could not read the workflows';
      });
  }
}
