import { type ResultOf, WorkerChangesDocument, WorkersDocument } from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';
import { reloadOnReconnect } from '$lib/graphql/client.svelte';

export type Worker = ResultOf<typeof WorkersDocument>['workers'][number];

/**
 * The worker fleet, kept current by the `workers` subscription (online, heartbeat, offline) on top
 * of a `workers` query. Construct while a component initialises; it stops with the component.
 */
export class LiveWorkers {
  list = $state.raw<Worker[]>([]);
  error = $state<string | null>(null);

  constructor(api: Api) {
    reloadOnReconnect(api.connection, () => {
      void api.client
        .query(WorkersDocument, {})
        .toPromise()
        .then((result) => {
          if (result.data) this.list = sortWorkers(result.data.workers);
          else this.error = result.error?.message ?? null;
        });
    });
    $effect(() =>
      api.live(WorkerChangesDocument, () => ({}), {
        next: ({ workers: { kind, worker } }) => {
          const others = this.list.filter((w) => w.id !== worker.id);
          this.list = kind === 'OFFLINE' ? others : sortWorkers([...others, worker]);
        },
        error: (failure) => {
          this.error = failure.message;
        },
      }),
    );
  }
}

function sortWorkers(workers: Worker[]): Worker[] {
  return workers.toSorted((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}
