import { randomBytes } from 'node:crypto';
import {
  type FieldError,
  fieldErrors,
  type Keys,
  NotFoundError,
  type Task,
  type TaskInput,
  TaskStatus,
  ValidationError,
  type Workflow,
  type WorkflowEdge,
  type WorkflowFilter,
  WorkflowInput,
  type WorkflowNode,
  WorkflowStatus,
  workflowGraphErrors,
} from '@taskplane/core';
import type { Redis } from 'ioredis';
import { inOneWrite } from './one-write';
import type { TaskEngine } from './task-engine';
import type { TaskStore } from './task-store';

/** A page of workflows, newest first; `nextCursor` is null on the last page. */
export interface WorkflowPage {
  workflows: Workflow[];
  nextCursor: string | null;
}

/** Largest page `list` returns. */
export const MAX_WORKFLOW_PAGE = 100;
/** Index entries one `list` call reads at most while filtering (the page may come back short). */
const LIST_SCAN_MAX = 5000;

function newWorkflowId(now = Date.now()): string {
  return `w${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

function invalid(fields: FieldError[]): ValidationError {
  return new ValidationError(
    `invalid workflow: ${fields
      .slice(0, 20)
      .map((f) => `${f.path}: ${f.message}`)
      .join('; ')}`,
    fields,
  );
}

/** A workflow hash as the scripts keep it (see `Keys.workflow`) turned into a `Workflow`. */
export function parseWorkflow(hash: Record<string, string>): Workflow | null {
  if (!hash.id) return null;
  const counts: Workflow['counts'] = {};
  for (const [field, value] of Object.entries(hash)) {
    const status = TaskStatus.safeParse(field.slice(2));
    if (field.startsWith('c:') && status.success && Number(value) > 0) counts[status.data] = Number(value);
  }
  const status = WorkflowStatus.safeParse(hash.status);
  return {
    id: hash.id,
    name: hash.name ?? '',
    status: status.success ? status.data : 'pending',
    createdAt: Number(hash.createdAt) || 0,
    finishedAt: hash.finishedAt ? Number(hash.finishedAt) : null,
    size: Number(hash.size) || 0,
    counts,
  };
}

/**
 * Workflows: DAGs of tasks submitted in one call. The tasks and their dependencies are the engine's
 * (dependencies in scripts/deps.lua); the workflow record is projected from its nodes' jobs
 * (project.lua), so this class writes nothing of its own to Redis.
 */
export class WorkflowService {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly store: TaskStore;

  constructor(private readonly engine: TaskEngine) {
    this.redis = engine.redis;
    this.keys = engine.keys;
    this.store = engine.store;
  }

  /**
   * Submit a workflow: every node's task, all or none, in one BullMQ transaction. Throws a
   * `ValidationError` whose field paths point into `nodes` (a bad task, a duplicate or unknown key,
   * a cycle naming its nodes).
   */
  async submit(input: WorkflowInput): Promise<Workflow> {
    const parsed = WorkflowInput.safeParse(input);
    if (!parsed.success) throw invalid(fieldErrors(parsed.error));
    const { name, nodes } = parsed.data;
    const graph = workflowGraphErrors(nodes);
    const keyed = nodes.flatMap((node, i) =>
      node.task.idempotencyKey
        ? [{ path: `nodes.${i}.task.idempotencyKey`, message: 'workflow nodes take no idempotency key' }]
        : [],
    );
    if (graph.length > 0 || keyed.length > 0) throw invalid([...graph, ...keyed]);
    const id = newWorkflowId();
    const outcomes = await this.engine.submitMany(
      nodes.map((node) => node.task as TaskInput),
      { workflow: { id, name, nodes: nodes.map((n) => ({ key: n.key, dependsOn: n.dependsOn })) } },
    );
    const fields = outcomes.flatMap((outcome, i) =>
      outcome.ok
        ? []
        : outcome.error.fields.length > 0
          ? outcome.error.fields.map((f) => ({ path: `nodes.${i}.task.${f.path}`, message: f.message }))
          : [{ path: `nodes.${i}.task`, message: outcome.error.message }],
    );
    if (fields.length > 0) throw invalid(fields);
    return await this.getOrThrow(id);
  }

  async get(id: string): Promise<Workflow | null> {
    return parseWorkflow(await this.redis.hgetall(this.keys.workflow(id)));
  }

  async getOrThrow(id: string): Promise<Workflow> {
    const workflow = await this.get(id);
    if (!workflow) throw new NotFoundError(`no workflow with id ${id}`);
    return workflow;
  }

  /** The nodes of a workflow, in key order. */
  async nodes(id: string): Promise<WorkflowNode[]> {
    const hash = await this.redis.hgetall(this.keys.workflowNodes(id));
    return Object.entries(hash)
      .map(([key, taskId]) => ({ key, taskId }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Dependencies between nodes (by key): `to` waits for `from`; read from the tasks' `dependsOn`. */
  edges(nodes: WorkflowNode[], tasks: (Task | null)[]): WorkflowEdge[] {
    const keyOf = new Map(nodes.map((n) => [n.taskId, n.key]));
    return nodes.flatMap((node, i) =>
      (tasks[i]?.dependsOn ?? []).flatMap((dep) => {
        const from = keyOf.get(dep);
        return from ? [{ from, to: node.key }] : [];
      }),
    );
  }

  /** The tasks of `nodes`, in the same order (null for a task deleted since). */
  async tasks(nodes: WorkflowNode[]): Promise<(Task | null)[]> {
    return await this.store.getMany(nodes.map((n) => n.taskId));
  }

  /**
   * Workflows newest first, filtered by status and name. Walks the narrowest index (the name's,
   * else a single status's, else all) and checks the rest on the records, reading at most
   * `LIST_SCAN_MAX` entries per call: a page can come back short with a `nextCursor`.
   */
  async list(
    filter: WorkflowFilter,
    options: { first?: number; after?: string | null } = {},
  ): Promise<WorkflowPage> {
    const first = options.first ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_WORKFLOW_PAGE)
      throw new ValidationError(`first must be 1-${MAX_WORKFLOW_PAGE}`, [
        { path: 'first', message: `1-${MAX_WORKFLOW_PAGE}` },
      ]);
    const index = filter.name
      ? this.keys.workflowsByName(filter.name)
      : filter.status?.length === 1
        ? this.keys.workflowsByStatus(filter.status[0]!)
        : this.keys.workflows;
    let offset = 0;
    if (options.after) {
      offset = Number(Buffer.from(options.after, 'base64url').toString());
      if (!Number.isInteger(offset) || offset < 0)
        throw new ValidationError('malformed cursor', [
          { path: 'after', message: 'not a cursor from this list' },
        ]);
    }
    // Offsets, not scores: workflows leave a status index as they move, and a page that shifts by
    // one is the lesser harm for a list people browse (tasks use score cursors).
    const workflows: Workflow[] = [];
    let scanned = 0;
    let exhausted = false;
    while (workflows.length < first && scanned < LIST_SCAN_MAX) {
      const ids = await this.redis.zrevrange(index, offset, offset + 99);
      if (ids.length === 0) {
        exhausted = true;
        break;
      }
      const hashes = await Promise.all(
        inOneWrite(this.redis, () => ids.map((id) => this.redis.hgetall(this.keys.workflow(id)))),
      );
      let i = 0;
      for (; i < ids.length && workflows.length < first; i++) {
        const workflow = parseWorkflow(hashes[i] ?? {});
        if (!workflow) continue;
        if (filter.status?.length && !filter.status.includes(workflow.status)) continue;
        if (filter.name && workflow.name !== filter.name) continue;
        workflows.push(workflow);
      }
      offset += i;
      scanned += i;
      if (ids.length < 100 && i === ids.length) {
        exhausted = true;
        break;
      }
    }
    return {
      workflows,
      nextCursor: exhausted ? null : Buffer.from(String(offset)).toString('base64url'),
    };
  }
}
