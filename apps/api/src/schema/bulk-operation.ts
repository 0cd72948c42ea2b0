import { NotFoundError } from '@taskplane/core';
import { BulkKind, type BulkOperation, type BulkPreview, BulkState, COUNT_SCAN_MAX } from '@taskplane/queue';
import { builder } from '../builder';
import { AUTH_ERRORS } from './errors';
import { TaskRef } from './task/types';

const BulkKindEnum = builder.enumType('BulkOperationKind', {
  values: Object.fromEntries(Object.values(BulkKind).map((k) => [k.toUpperCase(), { value: k }])) as Record<
    string,
    { value: BulkKind }
  >,
});
const BulkStateEnum = builder.enumType('BulkOperationState', {
  values: Object.fromEntries(Object.values(BulkState).map((k) => [k.toUpperCase(), { value: k }])) as Record<
    string,
    { value: BulkState }
  >,
});

const BulkErrorRef = builder.objectRef<{ taskId: string; message: string }>('BulkOperationError').implement({
  fields: (t) => ({ taskId: t.exposeID('taskId'), message: t.exposeString('message') }),
});

export const BulkOperationRef = builder.objectRef<BulkOperation>('BulkOperation').implement({
  description:
    'An operation over every task matching a filter, stored in Redis and run in batches by any API process; it resumes after a restart',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: BulkKindEnum, resolve: (o) => o.kind }),
    state: t.field({ type: BulkStateEnum, resolve: (o) => o.state }),
    filter: t.field({ type: 'JSON', resolve: (o) => o.filter }),
    total: t.exposeInt('total', {
      description: 'Tasks that matched when it started (a lower bound when totalExact is false)',
    }),
    totalExact: t.exposeBoolean('totalExact'),
    processed: t.exposeInt('processed', { description: 'Tasks looked at so far' }),
    succeeded: t.exposeInt('succeeded', { description: 'Tasks it changed' }),
    skipped: t.exposeInt('skipped', {
      description: 'Tasks that no longer matched when their turn came (changed by someone else meanwhile)',
    }),
    failed: t.exposeInt('failed'),
    errors: t.field({ type: [BulkErrorRef], resolve: (o) => o.errors }),
    startedAt: t.field({ type: 'DateTime', resolve: (o) => o.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (o) => o.finishedAt }),
  }),
});

export const BulkPreviewRef = builder.objectRef<BulkPreview>('BulkPreview').implement({
  description: 'What a bulk operation would touch (dry run): nothing was changed',
  fields: (t) => ({
    count: t.exposeInt('count', {
      description: `How many tasks match; exact when \`exact\`, otherwise at least this many (a count stops after reading ${COUNT_SCAN_MAX} index entries)`,
    }),
    exact: t.exposeBoolean('exact'),
    sample: t.field({
      type: [TaskRef],
      description: 'Up to 10 of the tasks, newest first',
      resolve: (p) => p.sample,
    }),
  }),
});

/** A bulk mutation's answer: a preview on a dry run, the started operation otherwise. */
export const BulkResultRef = builder
  .objectRef<{ preview: BulkPreview | null; operation: BulkOperation | null }>('BulkResult')
  .implement({
    fields: (t) => ({
      dryRun: t.boolean({ resolve: (r) => r.preview !== null }),
      preview: t.field({
        type: BulkPreviewRef,
        nullable: true,
        description: 'Set on a dry run',
        resolve: (r) => r.preview,
      }),
      operation: t.field({
        type: BulkOperationRef,
        nullable: true,
        description: 'Set when it ran for real: watch it with the bulkOperation subscription',
        resolve: (r) => r.operation,
      }),
    }),
  });

/** Preview on a dry run, otherwise start the operation. */
export async function bulkResult(
  dryRun: boolean | null | undefined,
  preview: () => Promise<BulkPreview>,
  run: () => Promise<BulkOperation>,
): Promise<{ preview: BulkPreview | null; operation: BulkOperation | null }> {
  return dryRun ? { preview: await preview(), operation: null } : { preview: null, operation: await run() };
}

builder.queryField('bulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    nullable: true,
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.bulk.get(String(args.id)),
  }),
);

builder.mutationField('cancelBulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.bulk.cancel(String(args.id)),
  }),
);

builder.subscriptionField('bulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    authScopes: { viewer: true },
    description: 'The operation now, then its progress until it ends',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.bulk.watch(String(args.id)),
    resolve: (op) => op as BulkOperation,
  }),
);
