import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type SubmitTaskInput,
  type TaskFieldsFragment,
  type TaskOrder,
  TaskplaneClientError,
  unwrap,
} from '@taskplane/client';
import { intOption, json, labels, parse, positionals, stringOption, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { FINISHED } from './events';
import { type Output, record, show, status } from './output';
import { progress } from './progress';

/** Lines per submitTasks call: well under the API's 10,000, small enough for steady progress. */
const BULK_BATCH = 500;

export function taskRecord(output: Output, task: TaskFieldsFragment): void {
  record(output, [
    ['id', task.id],
    ['type', task.type],
    ['queue', task.queue],
    ['status', status(output, task.status)],
    ['priority', task.priority],
    ['order', task.order],
    ['group', task.group],
    ['progress', task.progress],
    ['attempts', `${task.attemptsMade}/${task.maxAttempts}`],
    ['labels', task.labels.map((l) => `${l.key}=${l.value}`).join(', ') || null],
    ['params', task.params],
    ['created', task.createdAt],
    ['started', task.startedAt],
    ['finished', task.finishedAt],
    ['result', task.result],
    ['error', task.lastError ? `${task.lastError.code}: ${task.lastError.message}` : null],
  ]);
}

function order(text: string | undefined): TaskOrder | null {
  if (text === undefined) return null;
  const upper = text.toUpperCase();
  if (upper !== 'FIFO' && upper !== 'LIFO')
    throw new UsageError(`--order must be fifo or lifo, got "${text}"`);
  return upper;
}

/**
 * `taskplane submit <type> ... [--order lifo] [--wait]` and `taskplane submit --bulk file.jsonl`.
 * With --wait the exit code is the task's outcome: 0 succeeded, 1 anything else (with its error).
 */
export async function submit(context: CommandContext): Promise<number> {
  const parsed = parse(context.argv, COMMAND_TABLE.submit.options);
  const bulk = stringOption(parsed, 'bulk');
  if (bulk !== undefined) {
    positionals(parsed, []);
    return submitBulk(context, bulk);
  }
  const [type] = positionals(parsed, ['type']) as [string];
  const params = stringOption(parsed, 'params');
  const payload = unwrap(
    await context.client.submitTask({
      type,
      params: params === undefined ? {} : json(params, '--params'),
      priority: intOption(parsed, 'priority') ?? null,
      delayMs: intOption(parsed, 'delay') ?? null,
      idempotencyKey: stringOption(parsed, 'idempotency-key') ?? null,
      queue: stringOption(parsed, 'queue') ?? null,
      order: order(stringOption(parsed, 'order')),
      group: stringOption(parsed, 'group') ?? null,
      labels: labels(parsed),
    }),
    'SubmitTaskPayload',
  );
  if (parsed.values.wait !== true) {
    show(context.output, payload, (p) => {
      context.output.out(p.created ? `submitted ${p.task.id}` : `already submitted: ${p.task.id}`);
      taskRecord(context.output, p.task);
    });
    return 0;
  }
  if (!context.output.json)
    context.output.err(`submitted ${payload.task.id}; waiting (Ctrl-C stops waiting, not the task)`);
  const task = await waitFor(context, payload.task);
  show(context.output, task, (t) => taskRecord(context.output, t));
  if (task.status === 'SUCCESS') return 0;
  context.output.err(
    task.lastError
      ? `error ${task.lastError.code}: ${task.lastError.message}`
      : `task ${task.id} ended ${task.status}${FINISHED.includes(task.status) ? '' : ' (stopped waiting)'}`,
  );
  return 1;
}

/** Follows the `task` subscription (the task now, then each change) until the task finishes. */
async function waitFor(context: CommandContext, start: TaskFieldsFragment): Promise<TaskFieldsFragment> {
  const bar = progress(context.output, 'progress', 100);
  const updates = context.client.watchTask(start.id);
  context.signal.addEventListener('abort', () => updates.close(), { once: true });
  let task = start;
  let last = '';
  try {
    for await (const update of updates) {
      task = update.task;
      const now = `${task.status} ${task.progress}`;
      if (now !== last && !context.output.tty && !context.output.json)
        context.output.err(`${task.status} ${task.progress}%`);
      else if (context.output.tty) bar.update(task.progress);
      last = now;
      if (FINISHED.includes(task.status)) break;
    }
  } finally {
    updates.close();
    bar.stop();
  }
  return task;
}

interface LineError {
  line: number;
  message: string;
}

/**
 * `--bulk`: one SubmitTaskInput per line, in batches through submitTasks. The API rejects a bad
 * item alone, but an input GraphQL cannot even coerce (a string priority, an unknown field) fails
 * its whole request, so such a batch is sent again line by line to name the lines at fault.
 */
async function submitBulk(context: CommandContext, path: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  const inputs: { line: number; input: SubmitTaskInput }[] = [];
  const errors: LineError[] = [];
  let number = 0;
  for await (const text of lines) {
    number += 1;
    if (!text.trim()) continue;
    try {
      const input = JSON.parse(text) as SubmitTaskInput;
      if (
        typeof input !== 'object' ||
        input === null ||
        Array.isArray(input) ||
        typeof input.type !== 'string'
      )
        throw new Error('expected an object with a "type"');
      inputs.push({ line: number, input });
    } catch (error) {
      errors.push({ line: number, message: `not a task input: ${(error as Error).message}` });
    }
  }
  const bar = progress(context.output, 'submitting', inputs.length);
  let accepted = 0;
  let done = 0;
  const rejected = (
    line: number,
    error: { code: string; message: string; fields?: { path: string; message: string }[] },
  ) =>
    errors.push({
      line,
      message: `${error.code}: ${error.message}${error.fields?.length ? ` (${error.fields.map((f) => `${f.path}: ${f.message}`).join('; ')})` : ''}`,
    });
  try {
    for (let at = 0; at < inputs.length && !context.signal.aborted; at += BULK_BATCH) {
      const batch = inputs.slice(at, at + BULK_BATCH);
      let results: Awaited<ReturnType<typeof submitBatch>>;
      try {
        results = await submitBatch(
          context,
          batch.map((b) => b.input),
        );
      } catch (error) {
        if (
          !(error instanceof TaskplaneClientError) ||
          error.code === 'UNAUTHENTICATED' ||
          error.code === 'FORBIDDEN'
        )
          throw error;
        results = [];
        for (const item of batch) {
          try {
            results.push(...(await submitBatch(context, [item.input])));
          } catch (single) {
            if (!(single instanceof TaskplaneClientError)) throw single;
            results.push({
              __typename: 'ValidationError',
              code: single.code,
              message: single.message,
              fields: [...single.fields],
            });
          }
        }
      }
      results.forEach((result, index) => {
        if (result.__typename === 'SubmitTaskPayload') accepted += 1;
        else rejected(batch[index]!.line, result as { code: string; message: string });
      });
      done += batch.length;
      bar.update(done);
    }
  } finally {
    bar.stop();
  }
  errors.sort((a, b) => a.line - b.line);
  const summary = { lines: number, accepted, rejected: errors.length, errors };
  show(context.output, summary, (s) => {
    for (const e of s.errors) context.output.out(`line ${e.line}: ${e.message}`);
    context.output.out(`submitted ${s.accepted} task(s); ${s.rejected} line(s) rejected`);
  });
  return errors.length || context.signal.aborted ? 1 : 0;
}

async function submitBatch(context: CommandContext, inputs: SubmitTaskInput[]) {
  return unwrap(await context.client.submitTasks(inputs), 'SubmitTasksPayload').results;
}
