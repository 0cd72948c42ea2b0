import { NotFoundError, TaskStatus, ValidationError } from '@taskplane/core';
import type { QueueCounts, QueueSettings, QueueSettingsChange, TaskEngine } from '@taskplane/queue';
import { BulkKind } from '@taskplane/queue';
import { builder } from '../builder';
import type { QueueStats } from '../live-stats';
import { BulkResultRef, bulkResult } from './bulk-operation';
import { AUTH_ERRORS } from './errors';
import { MetricsPointRef } from './metrics';
import { TaskStatusEnum } from './task-filter';

/** A queue as resolved: its settings are read once, whichever of its fields ask. */
export class QueueView {
  private settingsRead: Promise<QueueSettings> | null = null;
  constructor(
    readonly name: string,
    private readonly engine: TaskEngine,
  ) {}
  settings(): Promise<QueueSettings> {
    this.settingsRead ??= this.engine.queueSettings(this.name);
    return this.settingsRead;
  }
}

const QueueCountsRef = builder.objectRef<QueueCounts>('QueueCounts').implement({
  description: 'Tasks in the queue by state, as BullMQ counts them now',
  fields: (t) => ({
    pending: t.exposeInt('pending'),
    delayed: t.exposeInt('delayed', { description: 'Delayed tasks and retries waiting for their backoff' }),
    running: t.exposeInt('running'),
    blocked: t.exposeInt('blocked', { description: 'Waiting for their children' }),
    deadLettered: t.exposeInt('deadLettered'),
    succeeded: t.exposeInt('succeeded', {
      description: 'Finished jobs BullMQ still keeps (the latest 1000)',
    }),
  }),
});

const RateLimitRef = builder.objectRef<NonNullable<QueueSettings['rateLimit']>>('RateLimit').implement({
  fields: (t) => ({
    max: t.exposeInt('max', { description: 'Task starts allowed per window, across all workers' }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

export const QueueRef = builder.objectRef<QueueView>('Queue').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    counts: t.field({
      type: QueueCountsRef,
      resolve: (q, _args, ctx) => ctx.engine.counts(q.name),
    }),
    paused: t.boolean({ resolve: (q, _args, ctx) => ctx.engine.queue(q.name).isPaused() }),
    concurrency: t.int({
      description: 'Concurrent tasks per worker process',
      resolve: async (q) => (await q.settings()).concurrency,
    }),
    globalConcurrency: t.int({
      nullable: true,
      description: 'Cap across every worker process; null = none',
      resolve: async (q) => (await q.settings()).globalConcurrency,
    }),
    rateLimit: t.field({
      type: RateLimitRef,
      nullable: true,
      resolve: async (q) => (await q.settings()).rateLimit,
    }),
    preemptBelow: t.int({
      nullable: true,
      description:
        'Preemption threshold: on a full queue, a task of this priority or more preempts the lowest-priority running task below it; null = off',
      resolve: async (q) => (await q.settings()).preemption?.below ?? null,
    }),
  }),
});

builder.queryField('queues', (t) =>
  t.field({
    type: [QueueRef],
    authScopes: { viewer: true },
    resolve: (_root, _args, ctx) => ctx.engine.queueNames().map((name) => new QueueView(name, ctx.engine)),
  }),
);

builder.queryField('queue', (t) =>
  t.field({
    type: QueueRef,
    nullable: true,
    authScopes: { viewer: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.engine.queueNames().includes(args.name) ? new QueueView(args.name, ctx.engine) : null,
  }),
);

builder.mutationField('pauseQueue', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    description: 'Stop starting tasks from this queue on every worker; running tasks finish',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await ctx.engine.pause(args.name);
      return new QueueView(args.name, ctx.engine);
    },
  }),
);

builder.mutationField('resumeQueue', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await ctx.engine.resume(args.name);
      return new QueueView(args.name, ctx.engine);
    },
  }),
);

builder.mutationField('setQueueConcurrency', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Change concurrency per worker process (and optionally the global cap) at run time, on every worker',
    args: {
      name: t.arg.string({ required: true }),
      concurrency: t.arg.int({ required: true }),
      globalConcurrency: t.arg.int({ required: false, description: 'Omit to keep; 0 removes the cap' }),
    },
    resolve: async (_root, args, ctx) => {
      const change: QueueSettingsChange = { concurrency: args.concurrency };
      if (args.globalConcurrency !== null && args.globalConcurrency !== undefined) {
        change.globalConcurrency = args.globalConcurrency === 0 ? null : args.globalConcurrency;
      }
      await ctx.engine.updateQueueSettings(args.name, change);
      return new QueueView(args.name, ctx.engine);
    },
  }),
);

builder.mutationField('setQueuePreemption', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Turn preemption on (tasks of priority `below` or more preempt running tasks below it on a full queue) or off (omit `below`)',
    args: {
      name: t.arg.string({ required: true }),
      below: t.arg.int({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const below = args.below ?? null;
      await ctx.engine.updateQueueSettings(args.name, { preemption: below === null ? null : { below } });
      return new QueueView(args.name, ctx.engine);
    },
  }),
);

builder.mutationField('setQueueRateLimit', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'At most `max` task starts per `durationMs` across all workers; omit both to remove the limit',
    args: {
      name: t.arg.string({ required: true }),
      max: t.arg.int({ required: false }),
      durationMs: t.arg.int({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const remove = args.max == null && args.durationMs == null;
      if (!remove && (args.max == null || args.durationMs == null)) {
        throw new ValidationError('give both max and durationMs, or neither to remove the limit', [
          { path: args.max == null ? 'max' : 'durationMs', message: 'required with the other' },
        ]);
      }
      const rateLimit = remove ? null : { max: args.max!, durationMs: args.durationMs! };
      await ctx.engine.updateQueueSettings(args.name, { rateLimit });
      return new QueueView(args.name, ctx.engine);
    },
  }),
);

builder.mutationField('cleanQueue', (t) =>
  t.field({
    type: BulkResultRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Delete the records of finished tasks of a queue (success, cancelled or dead-lettered), optionally only older ones',
    args: {
      name: t.arg.string({ required: true }),
      status: t.arg({ type: TaskStatusEnum, required: true }),
      finishedBefore: t.arg({ type: 'DateTime', required: false }),
      dryRun: t.arg.boolean({ defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      if (!ctx.engine.queueNames().includes(args.name))
        throw new NotFoundError(`no queue named ${args.name}`);
      const status = args.status as TaskStatus;
      if (!['success', 'cancelled', 'dead_lettered'].includes(status)) {
        throw new ValidationError('only finished tasks can be cleaned', [
          { path: 'status', message: 'expected SUCCESS, CANCELLED or DEAD_LETTERED' },
        ]);
      }
      const filter = {
        queue: [args.name],
        status: [status],
        ...(args.finishedBefore ? { finishedBefore: args.finishedBefore.getTime() } : {}),
      };
      return bulkResult(
        args.dryRun,
        () => ctx.bulk.preview(filter),
        () => ctx.bulk.run(BulkKind.CleanQueue, filter),
      );
    },
  }),
);

const QueueStatsRef = builder.objectRef<QueueStats>('QueueStats').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    at: t.field({ type: 'DateTime', resolve: (s) => s.at }),
    counts: t.field({ type: QueueCountsRef, resolve: (s) => s.counts }),
    paused: t.exposeBoolean('paused'),
    throughputPerMinute: t.exposeFloat('throughputPerMinute', {
      description:
        'Tasks succeeded over the last 60 s (the minute in progress and a share of the one before)',
    }),
    failureRate: t.exposeFloat('failureRate', {
      description: 'Failed share of attempts that ended over the last minute',
    }),
    avgDurationMs: t.exposeFloat('avgDurationMs', { nullable: true }),
    concurrency: t.int({
      description: 'Concurrent tasks per worker process',
      resolve: (s) => s.settings.concurrency,
    }),
    globalConcurrency: t.int({ nullable: true, resolve: (s) => s.settings.globalConcurrency }),
    rateLimit: t.field({ type: RateLimitRef, nullable: true, resolve: (s) => s.settings.rateLimit }),
    alerts: t.exposeStringList('alerts', {
      description: 'monitoring.alerts thresholds this queue is over: failure_rate, queue_size, avg_duration',
    }),
    latestMinute: t.field({
      type: MetricsPointRef,
      description: 'The minute in progress, as `metrics` returns it (counts so far)',
      resolve: (s) => s.latestMinute,
    }),
  }),
});

builder.subscriptionField('queueStats', (t) =>
  t.field({
    type: [QueueStatsRef],
    authScopes: { viewer: true },
    description:
      'Counts and rates of the named queues (all when omitted), pushed every monitoring.stats_interval',
    args: { names: t.arg.stringList({ required: false }) },
    subscribe: async function* (_root, args, ctx) {
      const feed = ctx.stats.subscribe();
      try {
        for await (const all of feed)
          yield args.names?.length ? all.filter((s) => args.names!.includes(s.name)) : all;
      } finally {
        feed.close();
      }
    },
    resolve: (stats) => stats as QueueStats[],
  }),
);

export { TaskStatus };
