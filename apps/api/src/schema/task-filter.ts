import { fieldErrors, TaskFilter, TaskStatus as TaskStatusSchema, ValidationError } from '@taskplane/core';
import { builder } from '../builder';

export const TaskStatusEnum = builder.enumType('TaskStatus', {
  values: Object.fromEntries(TaskStatusSchema.options.map((s) => [s.toUpperCase(), { value: s }])) as Record<
    string,
    { value: TaskStatusSchema }
  >,
});

export const LabelInput = builder.inputType('LabelInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

/** One filter for lists, subscriptions and bulk operations alike. */
export const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Which tasks: every given condition must hold',
  fields: (t) => ({
    status: t.field({ type: [TaskStatusEnum], required: false }),
    type: t.stringList({ required: false }),
    queue: t.stringList({ required: false }),
    labels: t.field({ type: [LabelInput], required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false }),
    createdBefore: t.field({ type: 'DateTime', required: false }),
    errorText: t.string({ required: false, description: 'Case-insensitive text in the last error message' }),
    scheduleId: t.id({ required: false, description: 'Submitted by this schedule' }),
    group: t.string({ required: false, description: 'Of this fair group (lists and bulk operations)' }),
  }),
});

type FilterArg =
  | {
      status?: TaskStatusSchema[] | null;
      type?: string[] | null;
      queue?: string[] | null;
      labels?: { key: string; value: string }[] | null;
      createdAfter?: Date | null;
      createdBefore?: Date | null;
      errorText?: string | null;
      scheduleId?: string | number | null;
      group?: string | null;
    }
  | null
  | undefined;

/** The filter as the engine takes it; throws `ValidationError` (paths under `filter.`) when malformed. */
export function toTaskFilter(arg: FilterArg): TaskFilter {
  if (!arg) return {};
  const filter: TaskFilter = {};
  const labels = arg.labels ?? [];
  const keys = new Set(labels.map((l) => l.key));
  if (keys.size < labels.length)
    throw new ValidationError('a label key is given twice', [
      { path: 'filter.labels', message: 'repeated key' },
    ]);
  if (arg.status?.length) filter.status = arg.status;
  if (arg.type?.length) filter.type = arg.type;
  if (arg.queue?.length) filter.queue = arg.queue;
  if (arg.labels?.length) filter.labels = Object.fromEntries(arg.labels.map((l) => [l.key, l.value]));
  if (arg.createdAfter) filter.createdAfter = arg.createdAfter.getTime();
  if (arg.createdBefore) filter.createdBefore = arg.createdBefore.getTime();
  if (arg.errorText) filter.errorText = arg.errorText;
  if (arg.scheduleId !== null && arg.scheduleId !== undefined) filter.scheduleId = String(arg.scheduleId);
  if (arg.group !== null && arg.group !== undefined) filter.group = arg.group;
  const parsed = TaskFilter.safeParse(filter);
  if (!parsed.success) {
    const fields = fieldErrors(parsed.error, 'filter');
    throw new ValidationError(
      `invalid filter: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  return filter;
}
