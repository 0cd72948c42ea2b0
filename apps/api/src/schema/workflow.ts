import {
  type FieldError,
  NotFoundError,
  type Task,
  type TaskEvent,
  TaskStatus,
  ValidationError,
  type Workflow,
  type WorkflowEdge,
  type WorkflowNode,
  WorkflowStatus,
} from '@taskplane/core';
import { parseCursor } from '@taskplane/events';
import { invalidTask } from '@taskplane/queue';
import { builder } from '../builder';
import type { Context } from '../context';
import { AUTH_ERRORS } from './errors';
import { TaskEventKindEnum } from './task/events';
import { inputErrors, SubmitTaskInput, toTaskInput } from './task/mutations';
import { TaskRef } from './task/types';
import { TaskStatusEnum } from './task-filter';

const WorkflowStatusEnum = builder.enumType('WorkflowStatus', {
  description:
    'Derived from the nodes: PENDING until one starts or finishes, RUNNING until all have finished, then SUCCEEDED (all did), FAILED (one failed or was dead-lettered) or CANCELLED',
  values: Object.fromEntries(WorkflowStatus.options.map((s) => [s.toUpperCase(), { value: s }])) as Record<
    string,
    { value: WorkflowStatus }
  >,
});

/** A workflow's nodes and their tasks, read once per workflow object however many fields ask. */
const graphs = new WeakMap<Workflow, Promise<{ nodes: WorkflowNode[]; tasks: (Task | null)[] }>>();
function graphOf(workflow: Workflow, ctx: Context) {
  let graph = graphs.get(workflow);
  if (!graph) {
    graph = (async () => {
      const nodes = await ctx.workflows.nodes(workflow.id);
      return { nodes, tasks: await ctx.workflows.tasks(nodes) };
    })();
    graphs.set(workflow, graph);
  }
  return graph;
}

const WorkflowNodeRef = builder
  .objectRef<{ key: string; taskId: string; task: Task | null }>('WorkflowNode')
  .implement({
    fields: (t) => ({
      key: t.exposeString('key', { description: 'The node key it was submitted with' }),
      taskId: t.exposeID('taskId'),
      task: t.field({ type: TaskRef, nullable: true, resolve: (n) => n.task }),
    }),
  });

const WorkflowEdgeRef = builder.objectRef<WorkflowEdge>('WorkflowEdge').implement({
  description: 'A dependency: `to` runs after `from` succeeds',
  fields: (t) => ({ from: t.exposeString('from'), to: t.exposeString('to') }),
});

const StatusCountRef = builder.objectRef<{ status: TaskStatus; count: number }>('TaskStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: TaskStatusEnum, resolve: (c) => c.status }),
    count: t.exposeInt('count'),
  }),
});

export const WorkflowRef = builder.objectRef<Workflow>('Workflow').implement({
  description: 'Tasks submitted together as a DAG (submitWorkflow)',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    status: t.field({ type: WorkflowStatusEnum, resolve: (w) => w.status }),
    createdAt: t.field({ type: 'DateTime', resolve: (w) => w.createdAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (w) => w.finishedAt }),
    size: t.exposeInt('size', { description: 'How many nodes it has' }),
    counts: t.field({
      type: [StatusCountRef],
      description: 'Nodes per task status (statuses with none left out)',
      resolve: (w) =>
        TaskStatus.options.flatMap((status) =>
          w.counts[status] ? [{ status, count: w.counts[status]! }] : [],
        ),
    }),
    nodes: t.field({
      type: [WorkflowNodeRef],
      description: 'Every node with its task, in key order',
      resolve: async (w, _args, ctx) => {
        const { nodes, tasks } = await graphOf(w, ctx);
        return nodes.map((n, i) => ({ ...n, task: tasks[i] ?? null }));
      },
    }),
    edges: t.field({
      type: [WorkflowEdgeRef],
      resolve: async (w, _args, ctx) => {
        const { nodes, tasks } = await graphOf(w, ctx);
        return ctx.workflows.edges(nodes, tasks);
      },
    }),
  }),
});

const WorkflowNodeInputRef = builder.inputType('WorkflowNodeInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'A name unique within the workflow' }),
    task: t.field({
      type: SubmitTaskInput,
      required: true,
      description: 'The task (its own dependsOn and idempotencyKey are not allowed here)',
    }),
    dependsOn: t.stringList({ required: false, description: 'Keys of nodes that must succeed first' }),
  }),
});

const WorkflowFilterInput = builder.inputType('WorkflowFilter', {
  fields: (t) => ({
    status: t.field({ type: [WorkflowStatusEnum], required: false }),
    name: t.string({ required: false, description: 'Exactly this name' }),
  }),
});

const WorkflowConnectionRef = builder
  .objectRef<{ nodes: Workflow[]; endCursor: string | null }>('WorkflowConnection')
  .implement({
    description: 'A page of workflows, newest first',
    fields: (t) => ({
      nodes: t.field({ type: [WorkflowRef], resolve: (p) => p.nodes }),
      endCursor: t.exposeString('endCursor', {
        nullable: true,
        description: 'Pass as `after` for the next page; null on the last',
      }),
    }),
  });

/** One change of one node, as the workflow subscription pushes it. */
const WorkflowNodeEventRef = builder.objectRef<TaskEvent & { key: string }>('WorkflowNodeEvent').implement({
  description: 'A change of one node (a delta, not the whole graph). Resume after `cursor` to miss nothing.',
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    key: t.exposeString('key', { description: 'The node key' }),
    taskId: t.exposeID('taskId'),
    kind: t.field({ type: TaskEventKindEnum, resolve: (e) => e.kind }),
    status: t.field({
      type: TaskStatusEnum,
      description: 'The task status after this event',
      resolve: (e) => e.status,
    }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    data: t.field({ type: 'JSON', resolve: (e) => e.data }),
    workflow: t.field({
      type: WorkflowRef,
      nullable: true,
      description: 'The workflow as it is now (its status and counts)',
      resolve: (e, _args, ctx) => ctx.workflows.get(e.workflowId ?? ''),
    }),
  }),
});

builder.mutationField('submitWorkflow', (t) =>
  t.field({
    type: WorkflowRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Submit a DAG of tasks in one call, all or none. Nodes refer to each other by key; a cycle, an unknown or duplicate key or a bad task is a ValidationError whose fields point into `nodes` (a cycle is named: "cycle: a -> b -> a")',
    args: {
      name: t.arg.string({ required: true }),
      nodes: t.arg({ type: [WorkflowNodeInputRef], required: true }),
    },
    resolve: (_root, args, ctx) => {
      const fields: FieldError[] = [];
      const nodes = args.nodes.map((node, i) => {
        const task = toTaskInput(node.task);
        if (node.task.dependsOn)
          fields.push({ path: `nodes.${i}.task.dependsOn`, message: 'use the node’s dependsOn (node keys)' });
        else
          fields.push(
            ...inputErrors(task, ctx).map((f) => ({ path: `nodes.${i}.task.${f.path}`, message: f.message })),
          );
        return { key: node.key, task, dependsOn: node.dependsOn ?? [] };
      });
      if (fields.length > 0) throw invalidTask(fields);
      return ctx.workflows.submit({ name: args.name, nodes });
    },
  }),
);

builder.queryField('workflow', (t) =>
  t.field({
    type: WorkflowRef,
    nullable: true,
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.workflows.get(String(args.id)),
  }),
);

builder.queryField('workflows', (t) =>
  t.field({
    type: WorkflowConnectionRef,
    authScopes: { viewer: true },
    errors: { types: [ValidationError], directResult: true },
    args: {
      filter: t.arg({ type: WorkflowFilterInput, required: false }),
      first: t.arg.int({ defaultValue: 20, description: 'Page size, at most 100' }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = {
        ...(args.filter?.status ? { status: args.filter.status } : {}),
        ...(args.filter?.name ? { name: args.filter.name } : {}),
      };
      const page = await ctx.workflows.list(filter, { first: args.first ?? 20, after: args.after ?? null });
      return { nodes: page.workflows, endCursor: page.nextCursor };
    },
  }),
);

builder.subscriptionField('workflow', (t) =>
  t.field({
    type: WorkflowNodeEventRef,
    authScopes: { viewer: true },
    description:
      'Changes of the workflow’s nodes as they happen, one event per change (read `workflow` first, with `eventCursor`, then subscribe `after` it to miss nothing). Unknown ids fail with NOT_FOUND; `after` works as for taskEvents',
    args: {
      id: t.arg.id({ required: true }),
      after: t.arg.string({ required: false, description: 'A cursor from an earlier event' }),
    },
    subscribe: async function* (_root, args, ctx) {
      const id = String(args.id);
      const after = args.after === null || args.after === undefined ? null : parseCursor(args.after);
      const feed = await ctx.hub.subscribe({ after, filter: { workflowId: id } });
      try {
        if (!(await ctx.workflows.get(id))) throw new NotFoundError(`no workflow with id ${id}`);
        // Nodes never change after submit: one read maps task ids to keys for the whole feed.
        const keys = new Map((await ctx.workflows.nodes(id)).map((n) => [n.taskId, n.key]));
        for await (const event of feed) yield { ...event, key: keys.get(event.taskId) ?? '' };
      } finally {
        feed.close();
      }
    },
    resolve: (event) => event as TaskEvent & { key: string },
  }),
);
