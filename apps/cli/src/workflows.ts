import { readFile } from 'node:fs/promises';
import {
  type ChildFailurePolicy,
  type DependencyPolicy,
  unwrap,
  type WorkflowFieldsFragment,
  type WorkflowNodeInput,
} from '@taskplane/client';
import { parse as parseYaml } from 'yaml';
import { parse, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { record, show, table } from './output';

const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
/** Task statuses a node does not leave on its own. */
const NODE_ENDED = ['SUCCESS', 'CANCELLED', 'DEAD_LETTERED'];

/**
 * A workflow file as people write it: `name`, and `nodes` each with `key`, `task` (type, params
 * and the other submit fields, `onDependencyFailure` as `cancel` or `run_anyway`, `onChildFailure` as `fail_parent`,
 * `continue` or `ignore`) and `dependsOn`
 * (node keys). JSON or YAML, by extension (YAML also reads JSON).
 */
export async function readWorkflowFile(path: string): Promise<{ name: string; nodes: WorkflowNodeInput[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UsageError(
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
  const file = value as { name?: unknown; nodes?: unknown };
  if (!file || typeof file !== 'object' || typeof file.name !== 'string' || !Array.isArray(file.nodes))
    throw new UsageError(`${path} needs a "name" and a list of "nodes"`);
  const nodes = file.nodes.map((raw, i) => {
    const node = raw as { key?: unknown; task?: Record<string, unknown>; dependsOn?: unknown };
    if (!node || typeof node.key !== 'string' || !node.task || typeof node.task !== 'object')
      throw new UsageError(`${path}: nodes.${i} needs a "key" and a "task"`);
    const task = { ...node.task } as Record<string, unknown>;
    if (typeof task.onDependencyFailure === 'string')
      task.onDependencyFailure = task.onDependencyFailure.toUpperCase() as DependencyPolicy;
    if (typeof task.onChildFailure === 'string')
      task.onChildFailure = task.onChildFailure.toUpperCase() as ChildFailurePolicy;
    if (task.labels && !Array.isArray(task.labels))
      task.labels = Object.entries(task.labels as Record<string, string>).map(([key, v]) => ({
        key,
        value: String(v),
      }));
    return {
      key: node.key,
      task: task as WorkflowNodeInput['task'],
      dependsOn: Array.isArray(node.dependsOn) ? node.dependsOn.map(String) : [],
    };
  });
  return { name: file.name, nodes };
}

function workflowRecord(context: CommandContext, w: WorkflowFieldsFragment): void {
  record(context.output, [
    ['id', w.id],
    ['name', w.name],
    ['status', w.status],
    ['nodes', `${w.size} (${w.counts.map((c) => `${c.status.toLowerCase()} ${c.count}`).join(', ')})`],
    ['created', w.createdAt],
    ['finished', w.finishedAt],
  ]);
}

/** `taskplane workflow submit <file>|get <id>|watch <id>|ls`. */
export async function workflow(context: CommandContext): Promise<void> {
  const parsed = parse(context.argv, COMMAND_TABLE.workflow.options);
  const [action, ...rest] = parsed.positionals;
  const { client, output } = context;
  const one = (what: string) => {
    if (rest.length !== 1) throw new UsageError(`workflow ${action} takes one <${what}>`);
    return rest[0]!;
  };
  switch (action) {
    case 'submit': {
      const file = await readWorkflowFile(one('file'));
      const created = unwrap(await client.submitWorkflow(file.name, file.nodes), 'Workflow');
      show(output, created, (w) => {
        output.out(`submitted workflow ${w.id}`);
        workflowRecord(context, w);
      });
      return;
    }
    case 'get': {
      const id = one('id');
      const found = await client.workflow(id);
      if (!found) throw new UsageError(`no workflow with id ${id}`);
      show(output, found, (w) => {
        workflowRecord(context, w);
        output.out('');
        const waitsOn = (key: string) => w.edges.filter((e) => e.to === key).map((e) => e.from);
        table(
          output,
          ['KEY', 'TASK', 'TYPE', 'STATUS', 'DEPENDS ON'],
          w.nodes.map((n) => [
            n.key,
            n.taskId,
            n.task?.type,
            n.task?.status,
            waitsOn(n.key).join(',') || null,
          ]),
        );
      });
      return;
    }
    case 'ls': {
      const status = parsed.values.status as string | undefined;
      const page = unwrap(
        await client.workflows({
          first: Number(parsed.values.first ?? 20),
          ...(status
            ? { filter: { status: [status.toUpperCase() as WorkflowFieldsFragment['status']] } }
            : {}),
        }),
        'WorkflowConnection',
      );
      show(output, page.nodes, (nodes) =>
        table(
          output,
          ['ID', 'NAME', 'STATUS', 'NODES', 'CREATED', 'FINISHED'],
          nodes.map((w) => [w.id, w.name, w.status, w.size, w.createdAt, w.finishedAt]),
        ),
      );
      return;
    }
    case 'watch': {
      // The cursor first, then the state, then changes after the cursor: nothing falls between.
      const id = one('id');
      const cursor = await client.eventCursor();
      const found = await client.workflow(id);
      if (!found) throw new UsageError(`no workflow with id ${id}`);
      if (!output.json)
        output.out(
          `${found.name} ${found.status}: ${found.nodes.map((n) => `${n.key}=${n.task?.status}`).join(' ')}`,
        );
      if (FINISHED.includes(found.status)) return;
      // The deltas applied to the state read above; done when every node has ended. (The
      // workflow's own status on an event is as it is now, which may be ahead of the event.)
      const nodes = new Map(found.nodes.map((n) => [n.key, n.task?.status ?? 'PENDING']));
      const ended = () => [...nodes.values()].every((status) => NODE_ENDED.includes(status));
      const events = client.watchWorkflow(id, cursor);
      context.signal.addEventListener('abort', () => events.close(), { once: true });
      for await (const { workflow: e } of events) {
        nodes.set(e.key, e.status);
        if (e.kind === 'LOG' || e.kind === 'PROGRESS') continue;
        if (output.json) output.out(JSON.stringify(e));
        else output.out([e.at, e.key, e.kind, e.status].join('  '));
        if (ended()) break;
      }
      events.close();
      return;
    }
    default:
      throw new UsageError('workflow takes submit, get, watch or ls');
  }
}
