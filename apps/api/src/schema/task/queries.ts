import { builder } from '../../builder';
import { TaskFilterInput, toTaskFilter } from '../task-filter';
import { TaskConnectionRef, TaskRef } from './types';

builder.queryField('task', (t) =>
  t.field({
    type: TaskRef,
    nullable: true,
    authScopes: { viewer: true },
    description: 'One task by id, or null',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.engine.store.get(String(args.id)),
  }),
);

builder.queryField('tasks', (t) =>
  t.field({
    type: TaskConnectionRef,
    authScopes: { viewer: true },
    description: 'Tasks matching a filter, newest first, a page at a time',
    args: {
      filter: t.arg({ type: TaskFilterInput, required: false }),
      first: t.arg.int({ defaultValue: 50, description: 'Page size, at most 500' }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = toTaskFilter(args.filter);
      const page = await ctx.engine.store.list(filter, {
        first: args.first ?? 50,
        after: args.after ?? null,
      });
      return { nodes: page.tasks, endCursor: page.nextCursor, filter };
    },
  }),
);
