import { CursorExpiredError, NotFoundError, type Task, type TaskEvent, TaskEventKind } from '@taskplane/core';
import { type EventFilter, parseCursor } from '@taskplane/events';
import { type GraphQLResolveInfo, Kind } from 'graphql';
import { builder } from '../../builder';
import { TaskFilterInput, TaskStatusEnum, toTaskFilter } from '../task-filter';
import { LabelRef, TaskRef } from './types';

export const TaskEventKindEnum = builder.enumType('TaskEventKind', {
  values: Object.fromEntries(
    Object.values(TaskEventKind).map((k) => [k.toUpperCase(), { value: k }]),
  ) as Record<string, { value: TaskEventKind }>,
});

export const TaskEventRef = builder.objectRef<TaskEvent>('TaskEvent').implement({
  description: 'Something that happened to a task. Resume a subscription after `cursor` to miss nothing.',
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    kind: t.field({ type: TaskEventKindEnum, resolve: (e) => e.kind }),
    taskId: t.exposeID('taskId'),
    queue: t.exposeString('queue'),
    type: t.exposeString('type'),
    status: t.field({
      type: TaskStatusEnum,
      description: 'The status after this event',
      resolve: (e) => e.status,
    }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    labels: t.field({
      type: [LabelRef],
      resolve: (e) => Object.entries(e.labels).map(([key, value]) => ({ key, value })),
    }),
    scheduleId: t.exposeID('scheduleId', {
      nullable: true,
      description: 'The schedule that submitted the task, or null',
    }),
    data: t.field({
      type: 'JSON',
      description: 'Kind-specific detail: progress, log line, error, attempt',
      resolve: (e) => e.data,
    }),
    task: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The task as it is now (not as it was at the event)',
      resolve: (e, _args, ctx) => ctx.eventTasks.of(e),
    }),
  }),
});

/** A well-formed cursor or VALIDATION; the hub refuses cursors newer than any event. */
/** Whether a taskEvents subscription selects `task` (or might, through a fragment). */
function selectsTask(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.some((node) =>
    node.selectionSet?.selections.some(
      (selection) => selection.kind !== Kind.FIELD || selection.name.value === 'task',
    ),
  );
}

function checkCursor(after: string | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  return parseCursor(after);
}

builder.subscriptionField('taskEvents', (t) =>
  t.field({
    type: TaskEventRef,
    authScopes: { viewer: true },
    description:
      'Events of tasks matching the filter (status, type, queue, labels). With `after`, everything after that cursor first, then live, with no gap and no duplicate; a cursor older than the log keeps fails with CURSOR_EXPIRED, a malformed or future one with VALIDATION. A subscriber that reads too slowly (more than 1,000 live events waiting) is ended with SUBSCRIBER_TOO_SLOW after the events it had: resume after the last cursor received.',
    args: {
      filter: t.arg({ type: TaskFilterInput, required: false }),
      kinds: t.arg({ type: [TaskEventKindEnum], required: false }),
      taskIds: t.arg.idList({
        required: false,
        description: 'Only events of these tasks (a task page’s timeline)',
      }),
      after: t.arg.string({
        required: false,
        description: 'A cursor from an earlier event; "0" = everything kept',
      }),
    },
    subscribe: async (_root, args, ctx, info) => {
      const { status, type, queue, labels, scheduleId } = toTaskFilter(args.filter);
      const filter: EventFilter = {
        scheduleId,
        status,
        type,
        queue,
        labels,
        kinds: args.kinds ?? undefined,
        taskIds: args.taskIds?.map(String),
      };
      const feed = await ctx.hub.subscribe({ after: checkCursor(args.after), filter });
      return selectsTask(info) ? ctx.eventTasks.prefetching(feed) : feed;
    },
    resolve: (event) => event as TaskEvent,
  }),
);

builder.queryField('eventCursor', (t) =>
  t.field({
    type: 'String',
    authScopes: { viewer: true },
    description:
      'The newest event cursor ("0" when there is none): read the current state, then subscribe to taskEvents after this cursor to miss nothing that happens from now on',
    resolve: (_root, _args, ctx) => ctx.hub.log.head(),
  }),
);

builder.subscriptionField('task', (t) =>
  t.field({
    type: TaskRef,
    authScopes: { viewer: true },
    description: 'The task now, then again every time it changes (status, progress, log lines)',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async function* (_root, args, ctx) {
      const id = String(args.id);
      const feed = await ctx.hub.subscribe({ filter: { taskIds: [id] } });
      try {
        const first = await ctx.engine.store.get(id);
        if (!first) throw new NotFoundError(`no task with id ${id}`);
        yield first;
        for await (const _event of feed) {
          const task = await ctx.engine.store.get(id);
          if (task) yield task;
        }
      } finally {
        feed.close();
      }
    },
    resolve: (task) => task as Task,
  }),
);

export { CursorExpiredError };
