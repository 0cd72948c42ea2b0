import {
  ConflictError,
  type FieldError,
  NotFoundError,
  type TaskInput,
  ValidationError,
} from '@taskplane/core';
import type { SubmitOutcome } from '@taskplane/queue';
import { builder } from '../../builder';
import type { Context } from '../../context';
import { AUTH_ERRORS, ValidationErrorRef } from '../errors';
import { LabelInput } from '../task-filter';
import { ChildFailurePolicyEnum, DependencyPolicyEnum, TaskOrderEnum, TaskRef } from './types';

const BackoffInput = builder.inputType('BackoffInput', {
  fields: (t) => ({
    baseDelayMs: t.int({ required: false }),
    maxDelayMs: t.int({ required: false }),
    jitter: t.float({ required: false }),
  }),
});

export const SubmitTaskInput = builder.inputType('SubmitTaskInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'A task type name (see taskTypes)' }),
    params: t.field({ type: 'JSON', required: false, description: "Validated against the type's schema" }),
    priority: t.int({ required: false, description: '1-10, 10 runs first' }),
    order: t.field({ type: TaskOrderEnum, required: false }),
    delayMs: t.int({ required: false }),
    runAt: t.field({ type: 'DateTime', required: false }),
    maxAttempts: t.int({ required: false }),
    timeoutMs: t.int({ required: false }),
    backoff: t.field({ type: BackoffInput, required: false }),
    idempotencyKey: t.string({
      required: false,
      description: 'Submitting again with this key returns the same task',
    }),
    labels: t.field({ type: [LabelInput], required: false }),
    queue: t.string({ required: false, description: "Another queue than the type's default" }),
    dependsOn: t.idList({
      required: false,
      description:
        'Tasks that must succeed first: the task is BLOCKED until they have, then runs by itself. Unknown ids are a ValidationError naming dependsOn.N; a dependency that already failed or was cancelled applies onDependencyFailure at once',
    }),
    onDependencyFailure: t.field({
      type: DependencyPolicyEnum,
      required: false,
      description: 'What a failed, dead-lettered or cancelled dependency does to this task (default CANCEL)',
    }),
    onChildFailure: t.field({
      type: ChildFailurePolicyEnum,
      required: false,
      description:
        "When the task fans out (e.g. batch_products): what a failed child does to it (default CONTINUE); a handler's fan-out may override it",
    }),
    group: t.string({
      required: false,
      description:
        "A fair group (e.g. a shop id; 1-128 of letters, digits and _ . -): the task takes turns with other groups' tasks of its queue and counts against the queue's group limits. Not with a delay, runAt or dependsOn",
    }),
  }),
});

type SubmitArg = typeof SubmitTaskInput.$inferInput;

/** GraphQL input to the engine's input; absent fields stay absent so defaults apply. */
export function toTaskInput(arg: SubmitArg): TaskInput {
  const input: Record<string, unknown> = { type: arg.type, params: arg.params ?? {} };
  for (const key of [
    'priority',
    'order',
    'delayMs',
    'maxAttempts',
    'timeoutMs',
    'idempotencyKey',
    'queue',
    'onDependencyFailure',
    'onChildFailure',
    'group',
  ] as const) {
    if (arg[key] !== null && arg[key] !== undefined) input[key] = arg[key];
  }
  if (arg.runAt) input.runAt = arg.runAt.getTime();
  if (arg.dependsOn) input.dependsOn = arg.dependsOn.map(String);
  if (arg.backoff) {
    input.backoff = Object.fromEntries(
      Object.entries(arg.backoff).filter(([, v]) => v !== null && v !== undefined),
    );
  }
  if (arg.labels) input.labels = Object.fromEntries(arg.labels.map((l) => [l.key, l.value]));
  return input as TaskInput;
}

/**
 * Every field error of one input at once: the task's own fields, its params against the type's
 * schema, and the params limits, so a bad priority does not hide a bad URL. Params over the limits
 * are refused before anything else walks them.
 */
/** Every field error of a task input (see `TaskEngine.validate`); empty when it is valid. */
export function inputErrors(input: TaskInput, ctx: Pick<Context, 'engine'>): FieldError[] {
  const checked = ctx.engine.validate(input);
  return checked.ok ? [] : checked.fields;
}

export const SubmitTaskPayload = builder
  .objectRef<{ task: import('@taskplane/core').Task; created: boolean }>('SubmitTaskPayload')
  .implement({
    fields: (t) => ({
      task: t.field({ type: TaskRef, resolve: (p) => p.task }),
      created: t.exposeBoolean('created', {
        description: 'false when an idempotency key returned an existing task',
      }),
    }),
  });

builder.mutationField('submitTask', (t) =>
  t.field({
    type: SubmitTaskPayload,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    args: { input: t.arg({ type: SubmitTaskInput, required: true }) },
    resolve: (_root, args, ctx) => {
      // The engine validates (every field error at once) and throws a ValidationError.
      return ctx.engine.submit(toTaskInput(args.input));
    },
  }),
);

const SubmitItemResult = builder.unionType('SubmitTaskItemResult', {
  types: [SubmitTaskPayload, ValidationErrorRef],
  resolveType: (value) =>
    'isValidationError' in (value as object) ? 'ValidationError' : 'SubmitTaskPayload',
});

const SubmitTasksPayload = builder.objectRef<{ outcomes: SubmitOutcome[] }>('SubmitTasksPayload').implement({
  fields: (t) => ({
    results: t.field({
      type: [SubmitItemResult],
      description: 'One result per input, in input order',
      // graphql-js treats an Error instance in a list as a field error; hand the union plain data.
      resolve: (p) =>
        p.outcomes.map((o) =>
          o.ok
            ? { task: o.task, created: o.created }
            : { ...o.error.toJSON(), message: o.error.message, isValidationError: true },
        ) as never,
    }),
    accepted: t.int({ resolve: (p) => p.outcomes.filter((o) => o.ok).length }),
    rejected: t.int({ resolve: (p) => p.outcomes.filter((o) => !o.ok).length }),
  }),
});

builder.mutationField('submitTasks', (t) =>
  t.field({
    type: SubmitTasksPayload,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    description: 'Submit many tasks at once; a bad item is rejected alone with its field errors',
    args: { inputs: t.arg({ type: [SubmitTaskInput], required: true }) },
    resolve: async (_root, args, ctx) => {
      if (args.inputs.length > 10_000)
        throw new ValidationError('at most 10,000 tasks per call', [{ path: 'inputs', message: 'too many' }]);
      // A bad item comes back as its own outcome with every field error (the engine validates).
      return { outcomes: await ctx.engine.submitMany(args.inputs.map(toTaskInput)) };
    },
  }),
);

builder.mutationField('cancelTask', (t) =>
  t.field({
    type: TaskRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError, ...AUTH_ERRORS], directResult: true },
    description: 'Cancel a waiting task, or abort a running one on whichever worker runs it',
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }) },
    resolve: (_root, args, ctx) => ctx.engine.cancel(String(args.id), args.reason ?? undefined),
  }),
);

builder.mutationField('retryTask', (t) =>
  t.field({
    type: TaskRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError, ...AUTH_ERRORS], directResult: true },
    description: 'Run a failed, dead-lettered or cancelled task again under the same id',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.engine.retry(String(args.id)),
  }),
);
