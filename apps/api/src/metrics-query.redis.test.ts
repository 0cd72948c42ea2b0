// The `metrics` query and the latest minute on `queueStats`, in process over HTTP and WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ monitoring: { stats_interval: '200ms' } });
});
afterAll(async () => {
  await api?.close();
});

const METRICS = `query ($scope: MetricsScope, $from: DateTime, $to: DateTime, $step: Int) {
  metrics(scope: $scope, from: $from, to: $to, step: $step) {
    __typename
    ... on MetricsSeries { resolution step points { at submitted gauges { pending } } }
    ... on ValidationError { message fields { path message } }
  }
}`;

interface Series {
  __typename: string;
  resolution?: string;
  step?: number;
  points?: { at: string; submitted: number; gauges: { pending: number } | null }[];
  fields?: { path: string; message: string }[];
}

async function metrics(variables: Record<string, unknown>): Promise<Series> {
  const { data, errors } = await api.graphql<{ metrics: Series }>(METRICS, variables);
  expect(errors).toBeUndefined();
  return data!.metrics;
}

const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;

describe('metrics query', () => {
  it('refuses ranges it cannot answer, naming the argument and why', async () => {
    const now = Date.now();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ step: 90 }, 'step', /whole number of minutes/],
      [{ from: iso(now), to: iso(now - HOUR) }, 'to', /after from/],
      [{ from: iso(now - 31 * 24 * HOUR), step: 3600 }, 'from', /kept for 720 hours/],
      [{ from: iso(now - 40 * HOUR), step: 60 }, 'step', /240\d steps; at most 2000/],
      [{ from: iso(now - 3 * 24 * HOUR), step: 300 }, 'step', /minute_retention.*whole hours/],
      [{ scope: { queue: 'nope' } }, 'scope.queue', /no queue named nope/],
      [{ scope: { type: 'nope' } }, 'scope.type', /no task type named nope/],
    ];
    for (const [variables, path, message] of cases) {
      const result = await metrics(variables);
      expect(result.__typename, JSON.stringify(variables)).toBe('ValidationError');
      expect(result.fields).toEqual([{ path, message: expect.stringMatching(message) }]);
    }
  });

  it('answers by the minute or by the hour, and queueStats carries the minute in progress', async () => {
    const { engine, metrics: store } = api.services;
    await engine.submit({ type: 'single_product', params: { url: 'http://127.0.0.1:9/products/p1' } });
    // The record and its count exist when submit returns: a snapshot taken after this has it.
    const submittedAt = Date.now();

    const minutes = await metrics({
      scope: { queue: 'products' },
      from: iso(submittedAt - 10 * 60_000),
      step: 300,
    });
    expect(minutes).toMatchObject({ __typename: 'MetricsSeries', resolution: 'MINUTE', step: 300 });
    expect(minutes.points!.reduce((n, p) => n + p.submitted, 0)).toBe(1);
    const hours = await metrics({ from: iso(submittedAt - 50 * HOUR), step: 3600 });
    expect(hours).toMatchObject({ resolution: 'HOUR', step: 3600 });
    expect(hours.points!.length).toBeGreaterThanOrEqual(50);
    expect(hours.points!.reduce((n, p) => n + p.submitted, 0)).toBe(1);

    // A push taken after the submit shows its minute as `metrics` does.
    const client = api.ws();
    const pushes = client.iterate<{
      queueStats: { at: number; latestMinute: { at: number; submitted: number } }[];
    }>({ query: 'subscription { queueStats(names: ["products"]) { at latestMinute { at submitted } } }' });
    let latest: { at: number; submitted: number } | undefined;
    for await (const push of pushes) {
      const [stats] = push.data!.queueStats;
      if (new Date(stats!.at).getTime() > submittedAt) {
        latest = stats!.latestMinute;
        break;
      }
    }
    const minute = new Date(latest!.at).getTime();
    expect(minute % 60_000).toBe(0);
    const [point] = (await store.series({ queue: 'products' }, minute, minute + 60_000, 60_000)).points;
    expect(latest!.submitted).toBe(point!.counts.submitted);
  });
});
