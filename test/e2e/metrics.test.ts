import { afterEach, describe, expect, it } from 'vitest';
import {
  type ApiProcess,
  graphqlData,
  type RunningProcess,
  startApp,
  TEST_TYPES_CONFIG,
  type TestEngine,
  testEngine,
  uniquePrefix,
  waitUntil,
} from '../helpers';

// Metrics over time with real API and worker processes: exact counts in `metrics` and on
// /metrics, run-time percentiles against the handlers' own clocks, and a worker killed mid-run.

const TOKEN = 'tp_e2e_metrics_admin_token_0123456789';
const CONFIG = {
  ...TEST_TYPES_CONFIG,
  queues: {
    ...TEST_TYPES_CONFIG.queues,
    timed: { concurrency: 50, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
  },
  task_types: {
    ...TEST_TYPES_CONFIG.task_types,
    timed: {
      queue: 'timed',
      params: {
        type: 'object',
        properties: { ms: { type: 'integer' }, fail: { type: 'boolean' } },
        required: ['ms'],
        additionalProperties: false,
      },
    },
  },
  workers: { ...TEST_TYPES_CONFIG.workers, queues: ['bulk', 'slow', 'timed'], max_count: 50 },
};

interface Durations {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}
interface Point {
  at: string;
  submitted: number;
  started: number;
  succeeded: number;
  failed: number;
  retried: number;
  cancelled: number;
  deadLettered: number;
  stalled: number;
  failureRate: number | null;
  runTime: Durations | null;
  waitTime: Durations | null;
}

const COUNTS = [
  'submitted',
  'started',
  'succeeded',
  'failed',
  'retried',
  'cancelled',
  'deadLettered',
  'stalled',
] as const;
const OUTCOME = { deadLettered: 'dead_lettered' } as Record<string, string>;

const processes: RunningProcess[] = [];
let t: TestEngine | null = null;

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGTERM', 5000)));
  await t?.close();
  t = null;
});

async function stack(name: string, workers: number): Promise<{ api: ApiProcess; workers: RunningProcess[] }> {
  const prefix = uniquePrefix(name);
  t = testEngine(prefix, CONFIG);
  const options = { prefix, configOverrides: CONFIG, env: { TASKPLANE_AUTH__BOOTSTRAP_TOKEN: TOKEN } };
  const api = await startApp('api', options);
  processes.push(api);
  const started = await Promise.all(
    Array.from({ length: workers }, async () => {
      const worker = await startApp('worker', options);
      processes.push(worker);
      await worker.waitForLine(/worker ready/, 30_000);
      return worker;
    }),
  );
  return { api, workers: started };
}

function graphql<T>(api: ApiProcess, query: string, variables: Record<string, unknown>): Promise<T> {
  return graphqlData<T>(api.graphqlUrl, TOKEN, query, variables);
}

const METRICS = `query ($scope: MetricsScope, $from: DateTime, $to: DateTime, $step: Int) {
  metrics(scope: $scope, from: $from, to: $to, step: $step) {
    __typename
    ... on MetricsSeries { resolution points { at ${COUNTS.join(' ')} failureRate
      runTime { count p50Ms p95Ms p99Ms } waitTime { count p50Ms p95Ms p99Ms } } }
    ... on ValidationError { message fields { path message } }
  }
}`;

/** One point covering the whole test: a week's step (weeks since the epoch start on Thursday, 00:00 UTC). */
async function wholeTest(api: ApiProcess, scope: Record<string, string>, since: number): Promise<Point[]> {
  const { metrics } = await graphql<{ metrics: { points: Point[] } }>(api, METRICS, {
    scope,
    from: new Date(since - 60_000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
    step: 7 * 24 * 3600,
  });
  return metrics.points.filter((p) => p.submitted + p.started > 0);
}

function sumCounts(points: Point[]): Record<(typeof COUNTS)[number], number> {
  return Object.fromEntries(COUNTS.map((c) => [c, points.reduce((n, p) => n + p[c], 0)])) as never;
}

/** `taskplane_tasks_total` by outcome, and the run-time histogram's count, for one queue and type. */
async function scrape(api: ApiProcess, queue: string, type: string) {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = (name: string, labels: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  const at = `queue="${queue}",type="${type}"`;
  return {
    text,
    counts: Object.fromEntries(
      COUNTS.map((c) => [c, value('taskplane_tasks_total', `${at},outcome="${OUTCOME[c] ?? c}"`) ?? 0]),
    ),
    runCount: value('taskplane_task_run_seconds_count', at),
  };
}

/** The value at rank q of sorted values, as DDSketch ranks them (q × (n - 1), rounded down). */
const quantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

describe('metrics over time', () => {
  it('counts a workload of 1,000 tasks with 100 failures exactly, with run-time percentiles within 5 %', async () => {
    const { api } = await stack('metrics-1000', 2);
    const began = Date.now();
    // Durations spread log-uniformly over 200-2000 ms (a low-discrepancy sequence); every tenth fails.
    const inputs = Array.from({ length: 1000 }, (_, i) => ({
      type: 'timed',
      params: { ms: Math.round(200 * 10 ** ((i * 0.6180339887) % 1)), fail: i % 10 === 0 },
    }));
    const outcomes = await t!.engine.submitMany(inputs);
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
    expect(ids.every(Boolean)).toBe(true);

    let last: Point[] = [];
    const points = await waitUntil(
      async () => {
        last = await wholeTest(api, { queue: 'timed' }, began);
        const c = sumCounts(last);
        return c.succeeded + c.failed >= 1000 ? last : undefined;
      },
      'every task to end in the metrics',
      { timeoutMs: 120_000, describe: () => JSON.stringify(sumCounts(last)) },
    );
    const expected = {
      submitted: 1000,
      started: 1000,
      succeeded: 900,
      failed: 100,
      retried: 0,
      cancelled: 0,
      deadLettered: 100,
      stalled: 0,
    };
    expect(sumCounts(points)).toEqual(expected);
    expect(points).toHaveLength(1);
    expect(points[0]!.failureRate).toBeCloseTo(0.1, 10);
    expect(sumCounts(await wholeTest(api, { type: 'timed' }, began))).toEqual(expected);

    const scraped = await scrape(api, 'timed', 'timed');
    expect(scraped.counts).toEqual(expected);
    expect(scraped.runCount).toBe(1000);
    expect(scraped.text).toMatch(/^taskplane_queue_tasks\{queue="timed",status="pending"\} 0$/m);

    // The handlers' own clocks: successes in their result, failures in their error message.
    const tasks = await Promise.all(ids.map((id) => t!.engine.store.getOrThrow(id)));
    const measured = tasks
      .map((task) =>
        task.status === 'success'
          ? (task.result as { tookMs: number }).tookMs
          : Number(/after ([\d.]+) ms/.exec(task.attempts[0]?.error?.message ?? '')?.[1]),
      )
      .sort((a, b) => a - b);
    expect(measured.every(Number.isFinite)).toBe(true);
    const run = points[0]!.runTime!;
    expect(run.count).toBe(1000);
    for (const [q, reported] of [
      [0.5, run.p50Ms],
      [0.95, run.p95Ms],
      [0.99, run.p99Ms],
    ] as const) {
      const truth = quantile(measured, q);
      expect(Math.abs(reported - truth) / truth, `p${q * 100}: ${reported} ms vs ${truth} ms`).toBeLessThan(
        0.05,
      );
    }
  });

  it('counts a task re-run after its worker was SIGKILLed as started twice, stalled once and succeeded once', async () => {
    const { api, workers } = await stack('metrics-kill', 1);
    const began = Date.now();
    const outcomes = await t!.engine.submitMany(
      Array.from({ length: 3 }, () => ({ type: 'sleep', params: { ms: 1500 } })),
    );
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
    // The queue runs two at a time: kill the worker while two run and the third waits.
    await t!.waitFor((all) => all.filter((e) => e.kind === 'started').length === 2, 30_000, 'two starts');
    await workers[0]!.kill();
    const replacement = await startApp('worker', {
      prefix: t!.config.redis.prefix,
      configOverrides: CONFIG,
      env: { TASKPLANE_AUTH__BOOTSTRAP_TOKEN: TOKEN },
    });
    processes.push(replacement);
    await t!.waitFor(
      (all) => ids.every((id) => all.some((e) => e.taskId === id && e.kind === 'succeeded')),
      60_000,
      'every task to succeed elsewhere',
    );
    const points = await waitUntil(async () => {
      const p = await wholeTest(api, { queue: 'slow' }, began);
      return sumCounts(p).succeeded === 3 ? p : undefined;
    }, 'the successes in the metrics');
    const expected = {
      submitted: 3,
      started: 5,
      succeeded: 3,
      failed: 0,
      retried: 0,
      cancelled: 0,
      deadLettered: 0,
      stalled: 2,
    };
    expect(sumCounts(points)).toEqual(expected);
    // The killed attempts have no run time (their end is unknown); every start has a wait.
    expect(points[0]!.runTime!.count).toBe(3);
    expect(points[0]!.waitTime!.count).toBe(5);
    expect((await scrape(api, 'slow', 'sleep')).counts).toEqual(expected);
  });
});
