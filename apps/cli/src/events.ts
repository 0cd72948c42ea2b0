import type { TaskEvent, TaskEventKind, TaskStatus } from '@taskplane/client';
import { TaskplaneClientError } from '@taskplane/client';
import { filter, listOption, parse, positionals, stringOption, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { type Output, paint, status } from './output';

/** Statuses a task does not leave by itself. */
export const FINISHED: readonly TaskStatus[] = ['SUCCESS', 'FAILED', 'CANCELLED', 'DEAD_LETTERED'];

const KINDS: readonly TaskEventKind[] = [
  'BLOCKED',
  'CANCELLED',
  'DEAD_LETTERED',
  'DELETED',
  'FAILED',
  'LOG',
  'PROGRESS',
  'READY',
  'REQUEUED',
  'RETRYING',
  'STALLED',
  'STARTED',
  'SUBMITTED',
  'SUCCEEDED',
];

/** The kind-specific part of an event (`data`) as a person reads it: the log text, the percentage, the error. */
export function eventDetail(event: Pick<TaskEvent, 'kind' | 'data'>): string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  if (typeof data.line === 'string') return data.line;
  if (typeof data.progress === 'number') return `${data.progress}%`;
  const error = data.error as { code?: string; message?: string } | undefined;
  if (error?.message) return `${error.code ? `${error.code}: ` : ''}${error.message}`;
  if (typeof data.workerId === 'string') return `attempt ${data.attempt ?? '?'} on ${data.workerId}`;
  return '';
}

/** One event as a line: cursor, time, kind, task, type, status, detail. */
export function eventLine(output: Output, event: TaskEvent): string {
  const detail = eventDetail(event);
  return [
    event.cursor,
    event.at,
    status(output, event.kind),
    event.taskId,
    event.type,
    status(output, event.status),
    ...(detail ? [event.kind === 'LOG' ? paint(output, 'cyan', detail) : detail] : []),
  ].join('  ');
}

function kinds(values: string[]): TaskEventKind[] {
  return values
    .flatMap((k) => k.split(','))
    .map((k) => {
      const upper = k.toUpperCase() as TaskEventKind;
      if (!KINDS.includes(upper))
        throw new UsageError(`--kind must be one of ${KINDS.join(', ').toLowerCase()}, got "${k}"`);
      return upper;
    });
}

/** `watch` and `tail`: task events live, with their detail, until Ctrl-C. */
export async function tail(context: CommandContext): Promise<void> {
  const parsed = parse(context.argv, COMMAND_TABLE.tail.options);
  positionals(parsed, []);
  const only = kinds(listOption(parsed, 'kind'));
  const events = context.client.watchTaskEvents({
    filter: filter(parsed),
    after: stringOption(parsed, 'after') ?? null,
    ...(only.length ? { kinds: only } : {}),
  });
  context.signal.addEventListener('abort', () => events.close(), { once: true });
  for await (const event of events) {
    context.output.out(context.output.json ? JSON.stringify(event) : eventLine(context.output, event));
  }
}

/**
 * `taskplane logs <id> [-f]`: the task's log lines; with -f, then its LOG events until it finishes.
 * The event cursor is read before the task, so no line falls between the two reads; a line in both
 * is printed once (matched by its text against the lines already printed).
 */
export async function logs(context: CommandContext): Promise<number> {
  const parsed = parse(context.argv, COMMAND_TABLE.logs.options);
  const [id] = positionals(parsed, ['id']) as [string];
  const cursor = await context.client.eventCursor();
  const task = await context.client.task(id);
  if (!task) throw new TaskplaneClientError('NOT_FOUND', `no task with id ${id}`, { retryable: false });
  const print = (at: string, line: string) =>
    context.output.out(
      context.output.json ? JSON.stringify({ at, line }) : `${paint(context.output, 'dim', at)}  ${line}`,
    );
  for (const log of task.logs) print(log.at, log.line);
  if (parsed.values.follow !== true) return 0;
  let final: TaskStatus = task.status;
  if (!FINISHED.includes(task.status)) {
    const printed = task.logs.map((l) => l.line);
    const events = context.client.watchTaskEvents({ taskIds: [id], after: cursor });
    context.signal.addEventListener('abort', () => events.close(), { once: true });
    for await (const event of events) {
      if (event.taskId !== id) continue;
      const line = (event.data as { line?: unknown }).line;
      if (event.kind === 'LOG' && typeof line === 'string') {
        const seen = printed.indexOf(line);
        if (seen >= 0) printed.splice(seen, 1);
        else print(event.at, line);
      }
      final = event.status;
      if (FINISHED.includes(event.status) || event.kind === 'DELETED') break;
    }
    events.close();
  }
  return final === 'SUCCESS' ? 0 : 1;
}
