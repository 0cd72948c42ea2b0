import {
  ConflictError,
  MissedPolicy,
  NotFoundError,
  nextTicks,
  OverlapPolicy,
  type Schedule,
  type TickOutcome,
  TickOutcomeKind,
  ValidationError,
} from '@taskplane/core';
import { type ScheduleEvent, ScheduleEventKind } from '@taskplane/queue';
import { builder } from '../builder';
import { enumOf } from './enum-of';
import { AUTH_ERRORS } from './errors';
import { LabelRef, TaskRef } from './task/types';
import { LabelInput } from './task-filter';

const OverlapEnum = enumOf('ScheduleOverlap', OverlapPolicy.options);
const MissedEnum = enumOf('ScheduleMissed', MissedPolicy.options);
const TickKindEnum = enumOf('TickOutcomeKind', Object.values(TickOutcomeKind));
const EventKindEnum = enumOf('ScheduleEventKind', Object.values(ScheduleEventKind));

const labelList = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {}).map(([key, value]) => ({ key, value }));

const TemplateRef = builder.objectRef<Schedule['task']>('ScheduleTaskTemplate').implement({
  description: 'The task a schedule submits on every tick',
  fields: (t) => ({
    type: t.exposeString('type'),
    params: t.field({ type: 'JSON', resolve: (p) => p.params }),
    queue: t.string({ nullable: true, resolve: (p) => p.queue ?? null }),
    priority: t.int({ nullable: true, resolve: (p) => p.priority ?? null }),
    labels: t.field({ type: [LabelRef], resolve: (p) => labelList(p.labels) }),
    maxAttempts: t.int({ nullable: true, resolve: (p) => p.maxAttempts ?? null }),
    timeoutMs: t.int({ nullable: true, resolve: (p) => p.timeoutMs ?? null }),
  }),
});

export const TickOutcomeRef = builder.objectRef<TickOutcome>('TickOutcome').implement({
  description: 'What one tick of a schedule did',
  fields: (t) => ({
    kind: t.field({ type: TickKindEnum, resolve: (o) => o.kind }),
    tick: t.field({ type: 'DateTime', description: "The tick's nominal time", resolve: (o) => o.tick }),
    at: t.field({ type: 'DateTime', description: 'When it was handled', resolve: (o) => o.at }),
    taskId: t.exposeID('taskId', { nullable: true }),
    task: t.field({
      type: TaskRef,
      nullable: true,
      resolve: (o, _args, ctx) => (o.taskId ? ctx.engine.store.get(o.taskId) : null),
    }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why it was skipped (overlap: the previous task is unfinished; missed: a downtime)',
    }),
    count: t.exposeInt('count', { description: 'Ticks this outcome stands for (a missed backlog is one)' }),
    manual: t.exposeBoolean('manual', { description: 'Run by triggerSchedule' }),
  }),
});

export const ScheduleRef = builder.objectRef<Schedule>('Schedule').implement({
  description: 'A task submitted on a cron expression or a fixed interval, once per tick',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    task: t.field({ type: TemplateRef, resolve: (s) => s.task }),
    cron: t.exposeString('cron', { nullable: true }),
    timezone: t.exposeString('timezone'),
    intervalMs: t.exposeInt('intervalMs', { nullable: true }),
    startAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.startAt }),
    endAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.endAt }),
    overlap: t.field({ type: OverlapEnum, resolve: (s) => s.overlap }),
    missed: t.field({ type: MissedEnum, resolve: (s) => s.missed }),
    jitterMs: t.exposeInt('jitterMs'),
    paused: t.exposeBoolean('paused'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The next tick; null when paused or past its end',
      resolve: (s) => s.nextRunAt,
    }),
    nextRuns: t.field({
      type: ['DateTime'],
      description: 'The next ticks (as if it were not paused), at most 100',
      args: { count: t.arg.int({ defaultValue: 5 }) },
      resolve: (s, args) =>
        nextTicks(
          s,
          Math.max(Date.now(), (s.nextRunAt ?? Date.now()) - 1),
          Math.min(Math.max(args.count ?? 5, 0), 100),
        ),
    }),
    lastTaskId: t.exposeID('lastTaskId', { nullable: true }),
    lastOutcome: t.field({ type: TickOutcomeRef, nullable: true, resolve: (s) => s.lastOutcome }),
    ticks: t.field({
      type: [TickOutcomeRef],
      description: 'Recent tick outcomes, newest first (the latest 100 are kept)',
      args: { count: t.arg.int({ defaultValue: 20 }) },
      resolve: (s, args, ctx) => ctx.schedules.ticks(s.id, Math.min(Math.max(args.count ?? 20, 1), 100)),
    }),
    recentTasks: t.field({
      type: [TaskRef],
      description: 'Tasks this schedule submitted, newest first',
      args: { first: t.arg.int({ defaultValue: 10 }) },
      resolve: async (s, args, ctx) =>
        (
          await ctx.engine.store.list(
            { scheduleId: s.id },
            { first: Math.min(Math.max(args.first ?? 10, 1), 100) },
          )
        ).tasks,
    }),
  }),
});

const SchedulePageRef = builder
  .objectRef<{ nodes: Schedule[]; endCursor: string | null }>('ScheduleConnection')
  .implement({
    description: 'A page of schedules, newest first',
    fields: (t) => ({
      nodes: t.field({ type: [ScheduleRef], resolve: (p) => p.nodes }),
      endCursor: t.exposeString('endCursor', {
        nullable: true,
        description: 'Pass as `after` for the next page',
      }),
    }),
  });

const ScheduleEventRef = builder.objectRef<ScheduleEvent>('ScheduleEvent').implement({
  description: 'Something that happened to a schedule: created, updated, deleted, or a tick fired or skipped',
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    kind: t.field({ type: EventKindEnum, resolve: (e) => e.kind }),
    scheduleId: t.exposeID('scheduleId'),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    schedule: t.field({
      type: ScheduleRef,
      nullable: true,
      description: 'The schedule after the change (its last state when deleted); null for ticks',
      resolve: (e) => e.schedule,
    }),
    outcome: t.field({ type: TickOutcomeRef, nullable: true, resolve: (e) => e.outcome }),
  }),
});

const TemplateInput = builder.inputType('ScheduleTaskInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    params: t.field({ type: 'JSON', required: false, description: "Validated against the type's schema" }),
    queue: t.string({ required: false }),
    priority: t.int({ required: false }),
    labels: t.field({ type: [LabelInput], required: false }),
    maxAttempts: t.int({ required: false }),
    timeoutMs: t.int({ required: false }),
  }),
});

const scheduleFields =
  (required: boolean) => (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
    name: t.string({ required }),
    task: t.field({ type: TemplateInput, required }),
    cron: t.string({
      required: false,
      description: '5 fields (minute first) or 6 (second first); or intervalMs',
    }),
    timezone: t.string({ required: false, description: 'IANA zone the cron is read in; default UTC' }),
    intervalMs: t.int({ required: false, description: 'A fixed interval (at least 1000); or cron' }),
    startAt: t.field({ type: 'DateTime', required: false }),
    endAt: t.field({ type: 'DateTime', required: false }),
    overlap: t.field({ type: OverlapEnum, required: false, description: 'Default SKIP' }),
    missed: t.field({ type: MissedEnum, required: false, description: 'Default SKIP' }),
    jitterMs: t.int({ required: false }),
    paused: t.boolean({ required: false }),
  });

const CreateInput = builder.inputType('CreateScheduleInput', { fields: scheduleFields(true) });
const UpdateInput = builder.inputType('UpdateScheduleInput', {
  description: 'Only the given fields change; to switch between cron and interval, set the other to null',
  fields: scheduleFields(false),
});

const ScheduleFilterInput = builder.inputType('ScheduleFilter', {
  fields: (t) => ({
    name: t.string({ required: false, description: 'Case-insensitive text in the name' }),
    type: t.string({ required: false, description: 'Task type' }),
    paused: t.boolean({ required: false }),
  }),
});

/** GraphQL input to the store's: absent stays absent (kept on update), null clears. */
function toScheduleInput(arg: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(arg)) {
    if (value === undefined) continue;
    if (value instanceof Date) input[key] = value.getTime();
    else if (key === 'task' && value) {
      const task = value as Record<string, unknown>;
      input.task = Object.fromEntries(
        Object.entries(task)
          .filter(([, v]) => v !== null && v !== undefined)
          .map(([k, v]) =>
            k === 'labels'
              ? [k, Object.fromEntries((v as { key: string; value: string }[]).map((l) => [l.key, l.value]))]
              : [k, v],
          ),
      );
    } else if (value === null && !['cron', 'intervalMs', 'startAt', 'endAt'].includes(key)) continue;
    else input[key] = value;
  }
  return input;
}

builder.queryField('schedules', (t) =>
  t.field({
    type: SchedulePageRef,
    authScopes: { viewer: true },
    errors: { types: [ValidationError], directResult: true },
    args: {
      filter: t.arg({ type: ScheduleFilterInput, required: false }),
      first: t.arg.int({ defaultValue: 50, description: 'Page size, at most 500' }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = Object.fromEntries(
        Object.entries(args.filter ?? {}).filter(([, v]) => v !== null && v !== undefined),
      );
      const page = await ctx.schedules.list(filter, args.first ?? 50, args.after ?? null);
      return { nodes: page.schedules, endCursor: page.nextCursor };
    },
  }),
);

builder.queryField('schedule', (t) =>
  t.field({
    type: ScheduleRef,
    nullable: true,
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.schedules.get(String(args.id)),
  }),
);

builder.mutationField('createSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError, ...AUTH_ERRORS], directResult: true },
    description:
      'Create a schedule; an invalid cron, zone, interval or params is a ValidationError naming the field',
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.schedules.create(toScheduleInput(args.input)),
  }),
);

builder.mutationField('updateSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ConflictError, NotFoundError, ...AUTH_ERRORS], directResult: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.schedules.update(String(args.id), toScheduleInput(args.input)),
  }),
);

for (const [field, paused] of [
  ['pauseSchedule', true],
  ['resumeSchedule', false],
] as const) {
  builder.mutationField(field, (t) =>
    t.field({
      type: ScheduleRef,
      authScopes: { operator: true },
      errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
      description: paused
        ? 'Stop firing until resumed'
        : 'Fire again from the next tick after now (ticks while paused are not run)',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.schedules.setPaused(String(args.id), paused),
    }),
  );
}

builder.mutationField('deleteSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    description: 'Delete a schedule (its tasks stay); returns it as it was',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.schedules.delete(String(args.id)),
  }),
);

builder.mutationField('triggerSchedule', (t) =>
  t.field({
    type: TickOutcomeRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    description: 'Run the schedule now: one task outside its ticks; the next run stays as it is',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.scheduler.firer.trigger(String(args.id)),
  }),
);

builder.subscriptionField('schedules', (t) =>
  t.field({
    type: ScheduleEventRef,
    authScopes: { viewer: true },
    description:
      'Schedules created, updated, deleted, and every tick fired or skipped (with the reason), live',
    args: { scheduleId: t.arg.id({ required: false, description: 'Only this schedule' }) },
    subscribe: async function* (_root, args, ctx) {
      const feed = ctx.scheduleFeed.subscribe();
      const only = args.scheduleId ? String(args.scheduleId) : null;
      try {
        for await (const event of feed) if (!only || event.scheduleId === only) yield event;
      } finally {
        feed.close();
      }
    },
    resolve: (event) => event as ScheduleEvent,
  }),
);
