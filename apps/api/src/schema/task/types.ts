import { type AttemptError, lastAttemptError, type Task, type TaskAttempt } from '@taskplane/core';
import type { LogLine } from '@taskplane/queue';
import { COUNT_SCAN_MAX } from '@taskplane/queue';
import { builder } from '../../builder';
import { TaskStatusEnum } from '../task-filter';

export const TaskOrderEnum = builder.enumType('TaskOrder', {
  values: { FIFO: { value: 'fifo' }, LIFO: { value: 'lifo' } } as const,
});

export const DependencyPolicyEnum = builder.enumType('DependencyPolicy', {
  description: 'What a failed, dead-lettered or cancelled dependency does to a task waiting on it',
  values: {
    CANCEL: { value: 'cancel', description: 'Cancel the task, and in turn its own dependents that cancel' },
    RUN_ANYWAY: { value: 'run_anyway', description: 'Run it once every dependency has finished' },
  } as const,
});

export const ChildFailurePolicyEnum = builder.enumType('ChildFailurePolicy', {
  description: 'What a fan-out child that failed for good does to its parent',
  values: {
    FAIL_PARENT: {
      value: 'fail_parent',
      description: 'Fail the parent at once (CHILD_FAILED, naming the child); it does not run again',
    },
    CONTINUE: {
      value: 'continue',
      description: "Run the parent once every child has finished, the failure among its children's outcomes",
    },
    IGNORE: {
      value: 'ignore',
      description:
        'Run the parent once every child has finished, leaving failed children out of the outcomes',
    },
  } as const,
});

export const LabelRef = builder.objectRef<{ key: string; value: string }>('Label').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const AttemptErrorRef = builder.objectRef<AttemptError>('AttemptError').implement({
  description: 'Why an attempt failed',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
    retryable: t.exposeBoolean('retryable'),
  }),
});

export const TaskAttemptRef = builder.objectRef<TaskAttempt>('TaskAttempt').implement({
  description: 'One run of the task handler',
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.finishedAt }),
    workerId: t.exposeString('workerId', { nullable: true }),
    error: t.field({ type: AttemptErrorRef, nullable: true, resolve: (a) => a.error }),
    stalled: t.exposeBoolean('stalled', { description: 'Its worker died; the task was handed to another' }),
    preempted: t.exposeBoolean('preempted', {
      description: 'A more urgent task took its slot; handed back to the queue, not counted as an attempt',
    }),
    preemptedBy: t.exposeString('preemptedBy', { nullable: true, description: 'The task that preempted it' }),
    handedBack: t.exposeBoolean('handedBack', {
      description: 'Its worker shut down and handed it back to the queue; not counted as an attempt',
    }),
  }),
});

export const LogLineRef = builder.objectRef<LogLine>('LogLine').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (l) => l.at }),
    line: t.exposeString('line'),
  }),
});

export const TaskRef = builder.objectRef<Task>('Task');

TaskRef.implement({
  description: 'A unit of work and everything that happened to it. Its id is also its BullMQ job id.',
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type'),
    queue: t.exposeString('queue'),
    status: t.field({ type: TaskStatusEnum, resolve: (task) => task.status }),
    priority: t.exposeInt('priority', { description: '1-10, 10 runs first' }),
    order: t.field({ type: TaskOrderEnum, resolve: (task) => task.order }),
    params: t.field({ type: 'JSON', resolve: (task) => task.params }),
    labels: t.field({
      type: [LabelRef],
      resolve: (task) => Object.entries(task.labels).map(([key, value]) => ({ key, value })),
    }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (task) => task.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (task) => task.updatedAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (task) => task.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (task) => task.finishedAt }),
    runAt: t.field({ type: 'DateTime', nullable: true, resolve: (task) => task.runAt }),
    attemptsMade: t.exposeInt('attemptsMade'),
    maxAttempts: t.exposeInt('maxAttempts'),
    timeoutMs: t.exposeInt('timeoutMs'),
    attempts: t.field({ type: [TaskAttemptRef], resolve: (task) => task.attempts }),
    lastError: t.field({
      type: AttemptErrorRef,
      nullable: true,
      resolve: (task) => lastAttemptError(task),
    }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (task) => task.result }),
    progress: t.exposeFloat('progress', { description: '0-100' }),
    parentId: t.exposeString('parentId', { nullable: true }),
    parent: t.field({
      type: TaskRef,
      nullable: true,
      resolve: (task, _args, ctx) => (task.parentId ? ctx.engine.store.get(task.parentId) : null),
    }),
    children: t.field({
      type: [TaskRef],
      args: { first: t.arg.int({ defaultValue: 100 }) },
      resolve: (task, args, ctx) => ctx.engine.store.children(task.id, Math.min(args.first ?? 100, 1000)),
    }),
    scheduleId: t.exposeString('scheduleId', { nullable: true }),
    dependsOn: t.idList({
      description: 'Tasks that must succeed before this one runs',
      resolve: (task) => task.dependsOn,
    }),
    onDependencyFailure: t.field({ type: DependencyPolicyEnum, resolve: (task) => task.onDependencyFailure }),
    onChildFailure: t.field({
      type: ChildFailurePolicyEnum,
      description:
        'What a failed child does to this task when it fans out, unless the fan-out says otherwise',
      resolve: (task) => task.onChildFailure,
    }),
    workflowId: t.exposeID('workflowId', {
      nullable: true,
      description: 'The workflow this task is a node of',
    }),
    group: t.exposeString('group', { nullable: true, description: 'The fair group the task belongs to' }),
    logs: t.field({
      type: [LogLineRef],
      description: 'Log lines the handler wrote, oldest first',
      args: { from: t.arg.int({ defaultValue: 0 }), count: t.arg.int({ defaultValue: 200 }) },
      resolve: (task, args, ctx) =>
        ctx.engine.store.logs(task.id, Math.max(0, args.from ?? 0), Math.min(args.count ?? 200, 1000)),
    }),
  }),
});

export interface TaskPageShape {
  nodes: Task[];
  endCursor: string | null;
  filter: import('@taskplane/core').TaskFilter;
}

export const PageInfoRef = builder.objectRef<{ endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: 'Pass as `after` for the next page',
    }),
    hasNextPage: t.boolean({ resolve: (p) => p.endCursor !== null }),
  }),
});

export const TaskConnectionRef = builder.objectRef<TaskPageShape>('TaskConnection').implement({
  description: 'A page of tasks, newest first',
  fields: (t) => ({
    nodes: t.field({ type: [TaskRef], resolve: (p) => p.nodes }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (p) => ({ endCursor: p.endCursor }) }),
    totalCount: t.int({
      description: `How many tasks match the filter: exact when one index answers the filter, otherwise counted by a walk that stops after ${COUNT_SCAN_MAX} index entries (see totalCountExact)`,
      resolve: async (p, _args, ctx) => (await ctx.engine.store.count(p.filter)).count,
    }),
    totalCountExact: t.boolean({
      description: 'False when totalCount is a lower bound ("at least")',
      resolve: async (p, _args, ctx) => (await ctx.engine.store.count(p.filter)).exact,
    }),
  }),
});
