import { MetricsDocument, type MetricsScope, type ResultOf } from '@taskplane/client';
import type { Api } from '$lib/graphql/client.svelte';
import { METRICS_RANGES, type MetricsRange } from '$lib/metrics-range';

type MetricsResult = ResultOf<typeof MetricsDocument>['metrics'];
export type MetricsSeries = Extract<MetricsResult, { __typename: 'MetricsSeries' }>;
export type MetricsPoint = MetricsSeries['points'][number];

/** How often a series is read again: the API counts per minute, so sooner would add nothing. */
const REFRESH_MS = 60_000;

/**
 * A metrics series for a scope over the last `range`, read again every minute and whenever the
 * scope or range changes (a new request for the new one; an answer for an old one is dropped).
 * Construct while a component initialises; it stops with the component.
 */
export class LiveMetrics {
  series = $state.raw<MetricsSeries | null>(null);
  error = $state<string | null>(null);

  constructor(api: Api, scope: () => MetricsScope, range: () => MetricsRange) {
    $effect(() => {
      const variables = { scope: scope(), range: range() };
      let current = true;
      const read = async () => {
        const { rangeMs, stepSeconds } = METRICS_RANGES[variables.range];
        const to = Date.now();
        const result = await api.client
          .query(MetricsDocument, {
            scope: variables.scope,
            from: new Date(to - rangeMs).toISOString(),
            to: new Date(to).toISOString(),
            step: stepSeconds,
          })
          .toPromise();
        if (!current) return;
        const metrics = result.data?.metrics;
        if (metrics?.__typename === 'MetricsSeries') {
          this.series = metrics;
          this.error = null;
        } else {
          this.error =
            metrics && 'message' in metrics ? metrics.message : (result.error?.message ?? 'no answer');
        }
      };
      void read();
      const timer = setInterval(() => void read(), REFRESH_MS);
      return () => {
        current = false;
        clearInterval(timer);
      };
    });
  }
}
