import { ValidationError } from '@taskplane/core';
import { REPAIR_BUDGET, RepairKind, type RepairPage, repairStep } from '@taskplane/queue';
import { builder } from '../builder';
import { AUTH_ERRORS } from './errors';

const KIND_NAMES: Record<RepairKind, string> = {
  entry: 'INDEX_ENTRY_WITHOUT_RECORD',
  record: 'TASK_WITHOUT_JOB',
  lock: 'ORPHANED_LOCK',
  idem: 'IDEMPOTENCY_KEY_WITHOUT_TASK',
};

const RepairKindEnum = builder.enumType('RepairFindingKind', {
  values: Object.fromEntries(Object.values(RepairKind).map((k) => [KIND_NAMES[k], { value: k }])) as Record<
    string,
    { value: RepairKind }
  >,
});

const RepairFindingRef = builder.objectRef<RepairPage['findings'][number]>('RepairFinding').implement({
  description: 'An inconsistency between records, indexes and BullMQ, and what repair does (or did) about it',
  fields: (t) => ({
    kind: t.field({ type: RepairKindEnum, resolve: (f) => f.kind }),
    subject: t.exposeString('subject', {
      description: 'The index key, task id, queue or idempotency key the finding is about',
    }),
    member: t.exposeString('member', {
      description: 'The task id in the index, the record’s status, the job id, or the id the key names',
    }),
    detail: t.exposeString('detail'),
    action: t.exposeString('action', { description: 'What the fix does' }),
  }),
});

const RepairPageRef = builder.objectRef<RepairPage>('RepairPage').implement({
  description: `One bounded step of a repair walk (at most ${REPAIR_BUDGET} keys and index entries looked at)`,
  fields: (t) => ({
    findings: t.field({ type: [RepairFindingRef], resolve: (p) => p.findings }),
    cursor: t.exposeString('cursor', {
      nullable: true,
      description: 'Pass as `after` to go on; null when every key has been looked at',
    }),
    examined: t.exposeInt('examined', { description: 'Keys and index entries this step looked at' }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when nothing was changed' }),
  }),
});

builder.mutationField('repair', (t) =>
  t.field({
    type: RepairPageRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Finds inconsistencies between task records, indexes and BullMQ (index entries without a record, pending or running tasks whose job is gone, orphaned job locks, idempotency keys naming no task) and fixes them through the record scripts, a bounded step at a time; with dryRun only reports them',
    args: {
      dryRun: t.arg.boolean({ required: true }),
      after: t.arg.string({ description: 'The cursor of the previous step; none to start' }),
    },
    resolve: (_root, args, ctx) => repairStep(ctx.engine, { dryRun: args.dryRun, after: args.after ?? null }),
  }),
);
