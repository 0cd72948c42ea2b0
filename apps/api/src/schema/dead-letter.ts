import { lastAttemptError, type Task } from '@taskplane/core';
import { BulkKind } from '@taskplane/queue';
import { builder } from '../builder';
import { BulkResultRef, bulkResult } from './bulk-operation';
import { AUTH_ERRORS } from './errors';
import { AttemptErrorRef, TaskRef } from './task/types';
import { TaskFilterInput, toTaskFilter } from './task-filter';

const DeadLetterRef = builder.objectRef<Task>('DeadLetter').implement({
  description: 'A task that failed for good: permanently, or after its last attempt',
  fields: (t) => ({
    id: t.exposeID('id'),
    task: t.field({ type: TaskRef, resolve: (task) => task }),
    error: t.field({
      type: AttemptErrorRef,
      nullable: true,
      description: 'The last attempt’s error; every attempt’s is on task.attempts',
      resolve: (task) => lastAttemptError(task),
    }),
    deadLetteredAt: t.field({ type: 'DateTime', resolve: (task) => task.finishedAt ?? task.updatedAt }),
  }),
});

const DeadLetterConnectionRef = builder
  .objectRef<{ nodes: Task[]; endCursor: string | null }>('DeadLetterConnection')
  .implement({
    fields: (t) => ({
      nodes: t.field({ type: [DeadLetterRef], resolve: (p) => p.nodes }),
      endCursor: t.exposeString('endCursor', { nullable: true }),
      hasNextPage: t.boolean({ resolve: (p) => p.endCursor !== null }),
    }),
  });

builder.queryField('deadLetters', (t) =>
  t.field({
    type: DeadLetterConnectionRef,
    authScopes: { viewer: true },
    description:
      'The dead-letter queue: dead-lettered tasks matching the filter, the most recently dead-lettered first',
    args: {
      filter: t.arg({ type: TaskFilterInput, required: false }),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = { ...toTaskFilter(args.filter), status: ['dead_lettered' as const] };
      const page = await ctx.engine.store.list(filter, {
        first: args.first ?? 50,
        after: args.after ?? null,
        order: 'deadLettered',
      });
      return { nodes: page.tasks, endCursor: page.nextCursor };
    },
  }),
);

/** A bulk mutation over dead letters: the filter is narrowed to dead-lettered tasks, whatever it says. */
function deadLetterMutation(name: string, description: string, kind: BulkKind): void {
  builder.mutationField(name, (t) =>
    t.field({
      type: BulkResultRef,
      authScopes: { operator: true },
      errors: { types: AUTH_ERRORS, directResult: true },
      description,
      args: {
        filter: t.arg({ type: TaskFilterInput, required: false }),
        dryRun: t.arg.boolean({ defaultValue: false }),
      },
      resolve: (_root, args, ctx) => {
        const filter = { ...toTaskFilter(args.filter), status: ['dead_lettered' as const] };
        return bulkResult(
          args.dryRun,
          () => ctx.bulk.preview(filter),
          () => ctx.bulk.run(kind, filter),
        );
      },
    }),
  );
}

deadLetterMutation(
  'requeueDeadLetters',
  'Run matching dead letters again (dryRun: count and sample only)',
  BulkKind.RequeueDeadLetters,
);

deadLetterMutation(
  'purgeDeadLetters',
  'Delete matching dead letters for good (dryRun: count and sample only)',
  BulkKind.PurgeDeadLetters,
);

builder.mutationField('cancelTasks', (t) =>
  t.field({
    type: BulkResultRef,
    authScopes: { operator: true },
    errors: { types: AUTH_ERRORS, directResult: true },
    description: 'Cancel every unfinished task matching the filter (dryRun: count and sample only)',
    args: {
      filter: t.arg({ type: TaskFilterInput, required: true }),
      dryRun: t.arg.boolean({ defaultValue: false }),
    },
    resolve: (_root, args, ctx) => {
      const unfinished = ['pending', 'delayed', 'blocked', 'running', 'retrying'] as const;
      const given = toTaskFilter(args.filter);
      const status = given.status?.length
        ? given.status.filter((s) => (unfinished as readonly string[]).includes(s))
        : [...unfinished];
      const filter = { ...given, status };
      return bulkResult(
        args.dryRun,
        () => ctx.bulk.preview(filter),
        () => ctx.bulk.run(BulkKind.CancelTasks, filter),
      );
    },
  }),
);
