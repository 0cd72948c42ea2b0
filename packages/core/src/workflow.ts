import { z } from 'zod';
import type { FieldError } from './errors';
import { TaskInput } from './task';
import type { TaskStatus } from './task-status';

/**
 * Where a workflow stands, derived from its nodes (in `scripts/workflow.lua`, as nodes move):
 * `pending` until a node starts or finishes, `running` until every node has finished, then
 * `succeeded` (every node did), `failed` (a node failed or was dead-lettered) or `cancelled`.
 */
export const WorkflowStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']);
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;

/** The statuses a workflow ends in (retention trims workflows in these). */
export const FINAL_WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Most nodes one workflow may have: one submit call adds them all in one transaction. */
export const MAX_WORKFLOW_NODES = 10_000;

/** A node's local name, unique within its workflow. */
export const NodeKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.\-:/]+$/, 'node keys use letters, digits and _ . - : /');

/** One node of a workflow: a task, and the nodes (by key) that must succeed before it runs. */
export const WorkflowNodeInput = z.strictObject({
  key: NodeKey,
  task: TaskInput.omit({ dependsOn: true, parentId: true }),
  dependsOn: z.array(NodeKey).max(1000).default([]),
});
export type WorkflowNodeInput = z.input<typeof WorkflowNodeInput>;

export const WorkflowInput = z.strictObject({
  name: z.string().min(1).max(200),
  nodes: z.array(WorkflowNodeInput).min(1).max(MAX_WORKFLOW_NODES),
});
export type WorkflowInput = z.input<typeof WorkflowInput>;
export type ParsedWorkflowInput = z.output<typeof WorkflowInput>;

/** A group of tasks submitted together as a DAG. */
export interface Workflow {
  id: string;
  name: string;
  status: WorkflowStatus;
  createdAt: number;
  /** When the last node finished; null while any node has not. */
  finishedAt: number | null;
  /** How many nodes it has. */
  size: number;
  /** Nodes per task status. */
  counts: Partial<Record<TaskStatus, number>>;
}

export interface WorkflowNode {
  key: string;
  taskId: string;
}

/** A dependency: `to` waits for `from`. */
export interface WorkflowEdge {
  from: string;
  to: string;
}

export const WorkflowFilter = z.strictObject({
  status: z.array(WorkflowStatus).max(5).optional(),
  name: z.string().min(1).max(200).optional(),
});
export type WorkflowFilter = z.infer<typeof WorkflowFilter>;

/**
 * The graph's own errors, with paths into `nodes`: duplicate keys, dependencies on unknown keys,
 * a node depending on itself, and cycles (each cycle once, naming its nodes in order). Empty when
 * the nodes form a DAG. Iterative (Kahn's algorithm, then a walk of what is left), so 10,000
 * nodes in a chain do not overflow a stack.
 */
export function workflowGraphErrors(nodes: { key: string; dependsOn: string[] }[]): FieldError[] {
  const errors: FieldError[] = [];
  const index = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (index.has(node.key))
      errors.push({
        path: `nodes.${i}.key`,
        message: `duplicate key "${node.key}" (also nodes.${index.get(node.key)})`,
      });
    else index.set(node.key, i);
  });
  nodes.forEach((node, i) => {
    node.dependsOn.forEach((dep, j) => {
      if (!index.has(dep))
        errors.push({ path: `nodes.${i}.dependsOn.${j}`, message: `unknown node key "${dep}"` });
      else if (dep === node.key)
        errors.push({ path: `nodes.${i}.dependsOn.${j}`, message: `node "${dep}" depends on itself` });
    });
  });
  if (errors.length > 0) return errors;
  const waiting = nodes.map((node) => new Set(node.dependsOn).size);
  const dependents = nodes.map(() => [] as number[]);
  nodes.forEach((node, i) => {
    for (const dep of new Set(node.dependsOn)) dependents[index.get(dep)!]!.push(i);
  });
  const ready = waiting.flatMap((n, i) => (n === 0 ? [i] : []));
  while (ready.length > 0) {
    const i = ready.pop()!;
    for (const d of dependents[i]!) if (--waiting[d]! === 0) ready.push(d);
  }
  // What is left lies on a cycle or behind one: follow unfinished dependencies until a node repeats.
  const reported = new Set<number>();
  for (let start = 0; start < nodes.length; start++) {
    if (waiting[start] === 0 || reported.has(start)) continue;
    const path: number[] = [];
    const onPath = new Map<number, number>();
    let at = start;
    while (!onPath.has(at) && !reported.has(at)) {
      onPath.set(at, path.length);
      path.push(at);
      at = index.get(nodes[at]!.dependsOn.find((dep) => waiting[index.get(dep)!]! > 0)!)!;
    }
    for (const i of path) reported.add(i);
    if (!onPath.has(at)) continue;
    // In run order (a dependency before its dependent), starting at the node listed first.
    const loop = path.slice(onPath.get(at)!).reverse();
    const low = loop.indexOf(Math.min(...loop));
    const cycle = [...loop.slice(low), ...loop.slice(0, low)];
    const names = [...cycle, cycle[0]!].map((i) => nodes[i]!.key);
    errors.push({ path: `nodes.${cycle[0]}.dependsOn`, message: `cycle: ${names.join(' -> ')}` });
  }
  return errors;
}
