import { ValidationError } from '@taskplane/core';
import type { DurationSummary, MetricsPoint, MetricsSeries, QueueGauges } from '@taskplane/queue';
import { builder } from '../builder';
import { AUTH_ERRORS } from './errors';

const DurationsRef = builder.objectRef<DurationSummary>('Durations').implement({
  description:
    'Percentiles of durations in ms, from a mergeable sketch (DDSketch): each within 1 % of a recorded duration at that rank',
  fields: (t) => ({
    count: t.exposeInt('count'),
    meanMs: t.exposeFloat('meanMs', { description: 'Within 1 % of the true mean' }),
    p50Ms: t.exposeFloat('p50Ms'),
    p95Ms: t.exposeFloat('p95Ms'),
    p99Ms: t.exposeFloat('p99Ms'),
  }),
});

const QueueGaugesRef = builder.objectRef<QueueGauges>('QueueGauges').implement({
  description: 'A queue as the metrics keeper sampled it (once a minute): depth per status, age, workers',
  fields: (t) => ({
    pending: t.exposeInt('pending'),
    delayed: t.exposeInt('delayed'),
    running: t.exposeInt('running', { description: 'Busy slots: tasks running now' }),
    blocked: t.exposeInt('blocked'),
    deadLettered: t.exposeInt('deadLettered'),
    oldestWaitingMs: t.exposeFloat('oldestWaitingMs', {
      nullable: true,
      description: 'Age of the oldest pending task since it was submitted; null when none is pending',
    }),
    workersAlive: t.exposeInt('workers', { description: 'Worker processes alive that consume the queue' }),
    slots: t.exposeInt('slots', {
      description: 'Concurrency those workers offer, capped by the global concurrency',
    }),
  }),
});

export const MetricsPointRef = builder.objectRef<MetricsPoint>('MetricsPoint').implement({
  description: 'What happened in one interval [at, at + step) of a queue or all queues, one task type or all',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (p) => p.at }),
    submitted: t.int({ resolve: (p) => p.counts.submitted }),
    started: t.int({
      description:
        'Starts of a handler: a retry, a re-run after a stall and a resumed fan-out parent count again',
      resolve: (p) => p.counts.started,
    }),
    succeeded: t.int({ resolve: (p) => p.counts.succeeded }),
    failed: t.int({ description: 'Tasks whose last attempt failed', resolve: (p) => p.counts.failed }),
    retried: t.int({ description: 'Failed attempts that are tried again', resolve: (p) => p.counts.retried }),
    cancelled: t.int({ resolve: (p) => p.counts.cancelled }),
    deadLettered: t.int({ resolve: (p) => p.counts.dead_lettered }),
    stalled: t.int({
      description: 'Attempts whose worker stopped answering (the task starts again elsewhere)',
      resolve: (p) => p.counts.stalled,
    }),
    failureRate: t.exposeFloat('failureRate', {
      nullable: true,
      description:
        'Failed share of the attempts that ended: (failed + retried) / (succeeded + failed + retried); null without any',
    }),
    waitTime: t.field({
      type: DurationsRef,
      nullable: true,
      description: 'From when a task could run (submitted, ready, its delay or backoff over) to its start',
      resolve: (p) => p.wait,
    }),
    runTime: t.field({
      type: DurationsRef,
      nullable: true,
      description: 'Attempts that ended in the interval, from start to end (stalled attempts left out)',
      resolve: (p) => p.run,
    }),
    gauges: t.field({
      type: QueueGaugesRef,
      nullable: true,
      description:
        'The last sample in the interval (summed over queues); null for a task type scope or with no sample',
      resolve: (p) => p.gauges,
    }),
  }),
});

const ResolutionEnum = builder.enumType('MetricsResolution', {
  values: { MINUTE: { value: 'minute' }, HOUR: { value: 'hour' } } as const,
});

const MetricsSeriesRef = builder.objectRef<MetricsSeries>('MetricsSeries').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'Start of the first point', resolve: (s) => s.from }),
    to: t.field({ type: 'DateTime', resolve: (s) => s.to }),
    step: t.int({ description: 'Seconds per point', resolve: (s) => s.stepMs / 1000 }),
    resolution: t.field({
      type: ResolutionEnum,
      description:
        'The buckets read: minutes, or hours (for steps of whole hours and ranges older than the minutes kept)',
      resolve: (s) => s.resolution,
    }),
    points: t.field({ type: [MetricsPointRef], resolve: (s) => s.points }),
  }),
});

const MetricsScopeInput = builder.inputType('MetricsScope', {
  fields: (t) => ({
    queue: t.string({ required: false, description: 'One queue; all when omitted' }),
    type: t.string({ required: false, description: 'One task type; all when omitted' }),
  }),
});

builder.queryField('metrics', (t) =>
  t.field({
    type: MetricsSeriesRef,
    authScopes: { viewer: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Task counts, failure rate, wait and run time percentiles and queue gauges over time, one point per step. Minutes are kept metrics.minute_retention (48h), hours metrics.hour_retention (30d); at most 2000 points.',
    args: {
      scope: t.arg({ type: MetricsScopeInput, required: false }),
      from: t.arg({ type: 'DateTime', required: false, description: 'Default: an hour before `to`' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Default: now' }),
      step: t.arg.int({
        defaultValue: 60,
        description: 'Seconds per point, a whole number of minutes (60, 300, 3600...)',
      }),
    },
    resolve: (_root, args, ctx) => {
      const to = args.to?.getTime() ?? Date.now();
      const from = args.from?.getTime() ?? to - 3_600_000;
      return ctx.metrics.series(args.scope ?? {}, from, to, (args.step ?? 60) * 1000);
    },
  }),
);
