import type { BulkOperationFieldsFragment, TaskStatus } from '@taskplane/client';
import { unwrap } from '@taskplane/client';
import { listOption, parse, positionals, stringOption, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { show, table } from './output';
import { progress } from './progress';

const CLEANABLE = ['SUCCESS', 'CANCELLED', 'DEAD_LETTERED'];
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--finished-before`: a time, or an age (`7d`) counted back from now. */
export function finishedBefore(text: string | undefined, now = Date.now()): string | null {
  if (text === undefined) return null;
  const age = /^(\d+)([smhdw])$/.exec(text);
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]!]!).toISOString();
  const at = new Date(text);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(`--finished-before must be a time or an age like 7d, got "${text}"`);
  return at.toISOString();
}

interface Part {
  queue: string;
  status: TaskStatus;
}

/**
 * `taskplane clean`: one `cleanQueue` bulk operation per queue and status, followed to the end with
 * the bulkOperation subscription behind one progress bar.
 */
export async function clean(context: CommandContext): Promise<number> {
  const parsed = parse(context.argv, COMMAND_TABLE.clean.options);
  positionals(parsed, []);
  const statuses = listOption(parsed, 'status')
    .flatMap((s) => s.split(','))
    .map((s) => s.toUpperCase());
  for (const s of statuses)
    if (!CLEANABLE.includes(s))
      throw new UsageError(`--status must be success, cancelled or dead_lettered, got "${s.toLowerCase()}"`);
  const before = finishedBefore(stringOption(parsed, 'finished-before'));
  const dryRun = parsed.values['dry-run'] === true;
  const queues = listOption(parsed, 'queue');
  const names = queues.length ? queues : (await context.client.queues()).map((q) => q.name);
  const parts: Part[] = names.flatMap((queue) =>
    (statuses.length ? statuses : ['SUCCESS']).map((status) => ({ queue, status: status as TaskStatus })),
  );
  const results = [];
  for (const part of parts) {
    const result = unwrap(
      await context.client.cleanQueue({
        name: part.queue,
        status: part.status,
        finishedBefore: before,
        dryRun,
      }),
      'BulkResult',
    );
    results.push({ ...part, result });
  }
  if (dryRun) {
    show(
      context.output,
      results.map((r) => ({ queue: r.queue, status: r.status, count: r.result.preview?.count ?? 0 })),
      (rows) => {
        table(
          context.output,
          ['QUEUE', 'STATUS', 'WOULD DELETE'],
          rows.map((r) => [r.queue, r.status, r.count]),
        );
        context.output.out(`dry run: ${rows.reduce((n, r) => n + r.count, 0)} task(s) would be deleted`);
      },
    );
    return 0;
  }
  const operations = results.flatMap((r) =>
    r.result.operation ? [{ ...r, operation: r.result.operation }] : [],
  );
  const total = () => operations.reduce((n, o) => n + o.operation.total, 0);
  const bar = progress(context.output, 'cleaning', total());
  try {
    await Promise.all(
      operations.map(async (entry) => {
        if (entry.operation.state !== 'RUNNING') return;
        const feed = context.client.watchBulkOperation(entry.operation.id);
        const stop = () => feed.close();
        context.signal.addEventListener('abort', stop, { once: true });
        try {
          for await (const { bulkOperation } of feed) {
            entry.operation = bulkOperation;
            bar.update(
              operations.reduce((n, o) => n + o.operation.processed, 0),
              total(),
            );
            if (bulkOperation.state !== 'RUNNING') break;
          }
        } finally {
          context.signal.removeEventListener('abort', stop);
          feed.close();
        }
      }),
    );
    bar.update(
      operations.reduce((n, o) => n + o.operation.processed, 0),
      total(),
    );
  } finally {
    bar.stop();
  }
  const final = operations.map((o) => ({ queue: o.queue, status: o.status, operation: o.operation }));
  show(context.output, final, (rows) => {
    table(
      context.output,
      ['QUEUE', 'STATUS', 'OPERATION', 'STATE', 'DELETED', 'SKIPPED', 'FAILED'],
      rows.map((r) => [
        r.queue,
        r.status,
        r.operation.id,
        r.operation.state,
        r.operation.succeeded,
        r.operation.skipped,
        r.operation.failed,
      ]),
    );
    context.output.out(`deleted ${rows.reduce((n, r) => n + r.operation.succeeded, 0)} task(s)`);
  });
  const failed = (o: BulkOperationFieldsFragment) => o.state !== 'DONE' || o.failed > 0;
  return final.some((r) => failed(r.operation)) || context.signal.aborted ? 1 : 0;
}
