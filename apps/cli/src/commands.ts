import {
  type BulkResultFieldsFragment,
  type PauseQueueMutation,
  type Role,
  type SetQueueConcurrencyMutation,
  type TaskFieldsFragment,
  type TaskplaneClient,
  TaskplaneClientError,
  unwrap,
} from '@taskplane/client';
import { filter, integer, intOption, parse, positionals, stringOption, UsageError } from './args';
import { clean } from './clean';
import { COMMAND_TABLE } from './command-table';
import { logs, tail } from './events';
import { health } from './health';
import { type Output, record, show, table } from './output';
import { repair } from './repair';
import { schedules } from './schedules';
import { stats } from './stats';
import { submit, taskRecord } from './submit';
import { tune } from './tune';
import { workflow } from './workflows';

/** What a command gets: its arguments, a client, where to write, and a signal that stops `watch`. */
export interface CommandContext {
  argv: string[];
  client: TaskplaneClient;
  /** The GraphQL endpoint the client talks to (health probes its /readyz). */
  url: string;
  output: Output;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

const TASK_COLUMNS = ['ID', 'TYPE', 'QUEUE', 'STATUS', 'PRIORITY', 'PROGRESS', 'CREATED'];
const taskRow = (t: TaskFieldsFragment) => [
  t.id,
  t.type,
  t.queue,
  t.status,
  t.priority,
  t.progress,
  t.createdAt,
];

function showTask(output: Output, task: TaskFieldsFragment): void {
  show(output, task, (t) => taskRecord(output, t));
}

function showBulk(output: Output, result: BulkResultFieldsFragment): void {
  show(output, result, (r) => {
    if (r.preview) {
      output.out(`dry run: ${r.preview.count} task(s) would be affected`);
      table(output, TASK_COLUMNS, r.preview.sample.map(taskRow));
    } else if (r.operation) {
      output.out(
        `started bulk operation ${r.operation.id} (${r.operation.kind}): ${r.operation.total} task(s)`,
      );
    }
  });
}

/** `parse` plus the positionals the command needs. */
function args(context: CommandContext, names: string[], options: Parameters<typeof parse>[1] = {}) {
  const parsed = parse(context.argv, options);
  return { parsed, values: positionals(parsed, names) };
}

/** Resolves to the exit code, or nothing for 0. */
type Command = (context: CommandContext) => Promise<void> | Promise<number>;

async function get(context: CommandContext) {
  const [id] = args(context, ['id']).values;
  const task = await context.client.task(id!);
  if (!task) throw new TaskplaneClientError('NOT_FOUND', `no task with id ${id}`, { retryable: false });
  show(context.output, task, (t) => {
    taskRecord(context.output, t);
    for (const a of t.attempts) {
      context.output.out(
        `attempt ${a.attempt}: ${a.startedAt ?? '-'} → ${a.finishedAt ?? '-'}${a.error ? ` ${a.error.code}: ${a.error.message}` : ''}`,
      );
    }
    for (const log of t.logs) context.output.out(`log ${log.at} ${log.line}`);
  });
}

async function list(context: CommandContext) {
  const { parsed } = args(context, [], COMMAND_TABLE.list.options);
  const page = await context.client.tasks({
    filter: filter(parsed),
    first: intOption(parsed, 'first') ?? 50,
    after: stringOption(parsed, 'after') ?? null,
  });
  show(context.output, page, (p) => {
    table(context.output, TASK_COLUMNS, p.nodes.map(taskRow));
    context.output.out(
      `${p.nodes.length} of ${p.totalCount}${p.pageInfo.hasNextPage ? `; next page: --after ${p.pageInfo.endCursor}` : ''}`,
    );
  });
}

async function cancel(context: CommandContext) {
  const { parsed, values } = args(context, ['id'], COMMAND_TABLE.cancel.options);
  showTask(
    context.output,
    unwrap(await context.client.cancelTask(values[0]!, stringOption(parsed, 'reason')), 'Task'),
  );
}

async function retry(context: CommandContext) {
  const [id] = args(context, ['id']).values;
  showTask(context.output, unwrap(await context.client.retryTask(id!), 'Task'));
}

async function queues(context: CommandContext) {
  args(context, []);
  show(context.output, await context.client.queues(), (all) =>
    table(
      context.output,
      ['QUEUE', 'PAUSED', 'CONCURRENCY', 'PENDING', 'DELAYED', 'RUNNING', 'BLOCKED', 'DEAD', 'SUCCEEDED'],
      all.map((q) => [
        q.name,
        q.paused,
        q.concurrency,
        q.counts.pending,
        q.counts.delayed,
        q.counts.running,
        q.counts.blocked,
        q.counts.deadLettered,
        q.counts.succeeded,
      ]),
    ),
  );
}

async function workers(context: CommandContext) {
  args(context, []);
  show(context.output, await context.client.workers(), (all) =>
    table(
      context.output,
      ['ID', 'HOST', 'PID', 'QUEUES', 'RUNNING', 'LAST SEEN'],
      all.map((w) => [w.id, w.host, w.pid, w.queues.join(','), w.runningTasks.length, w.lastSeenAt]),
    ),
  );
}

async function dlq(context: CommandContext) {
  const { parsed, values } = args(context, ['list|requeue|purge'], COMMAND_TABLE.dlq.options);
  const action = values[0];
  const variables = { filter: filter(parsed), dryRun: parsed.values['dry-run'] === true };
  if (action === 'list') {
    const page = await context.client.deadLetters({
      filter: variables.filter,
      first: intOption(parsed, 'first') ?? 50,
    });
    show(context.output, page, (p) =>
      table(
        context.output,
        ['ID', 'TYPE', 'QUEUE', 'DEAD SINCE', 'ERROR'],
        p.nodes.map((d) => [
          d.id,
          d.task.type,
          d.task.queue,
          d.deadLetteredAt,
          d.error ? `${d.error.code}: ${d.error.message}` : null,
        ]),
      ),
    );
  } else if (action === 'requeue') {
    showBulk(context.output, unwrap(await context.client.requeueDeadLetters(variables), 'BulkResult'));
  } else if (action === 'purge') {
    showBulk(context.output, unwrap(await context.client.purgeDeadLetters(variables), 'BulkResult'));
  } else {
    throw new UsageError(`dlq takes list, requeue or purge, got "${action}"`);
  }
}

type QueueResult = PauseQueueMutation['pauseQueue'] | SetQueueConcurrencyMutation['setQueueConcurrency'];

function showQueue(context: CommandContext, result: QueueResult) {
  show(context.output, unwrap(result, 'Queue'), (q) =>
    context.output.out(`${q.name}: concurrency ${q.concurrency}${q.paused ? ', paused' : ''}`),
  );
}

async function concurrency(context: CommandContext) {
  const { parsed, values } = args(context, ['queue', 'n'], COMMAND_TABLE.concurrency.options);
  const [name, n] = values as [string, string];
  showQueue(
    context,
    await context.client.setQueueConcurrency({
      name,
      concurrency: integer(n, '<n>'),
      globalConcurrency: intOption(parsed, 'global') ?? null,
    }),
  );
}

async function pause(context: CommandContext) {
  const [name] = args(context, ['queue']).values;
  showQueue(context, await context.client.pauseQueue(name!));
}

async function resume(context: CommandContext) {
  const [name] = args(context, ['queue']).values;
  showQueue(context, await context.client.resumeQueue(name!));
}

const ROLES: Role[] = ['VIEWER', 'OPERATOR', 'ADMIN'];

async function token(context: CommandContext) {
  const [action, name, role] = args(context, ['create', 'name', 'role']).values as [string, string, string];
  if (action !== 'create') throw new UsageError(`token takes create, got "${action}"`);
  const upper = role.toUpperCase() as Role;
  if (!ROLES.includes(upper)) throw new UsageError(`<role> must be viewer, operator or admin, got "${role}"`);
  const created = unwrap(await context.client.createApiToken(name, upper), 'CreatedApiToken');
  show(context.output, created, (c) => {
    record(context.output, [
      ['id', c.token.id],
      ['name', c.token.name],
      ['role', c.token.role],
      ['secret', c.secret],
    ]);
    context.output.out('The secret is shown once: store it now.');
  });
}

/** The client commands by name (`worker start` runs a process instead; see worker.ts). */
export const COMMANDS: Record<string, Command> = {
  submit,
  get,
  list,
  cancel,
  retry,
  watch: tail,
  tail,
  logs,
  queues,
  workers,
  dlq,
  concurrency,
  pause,
  resume,
  token,
  health,
  stats,
  clean,
  repair,
  tune,
  schedules,
  workflow,
};
