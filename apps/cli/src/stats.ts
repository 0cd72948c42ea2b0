import type { QueueStatsSubscription } from '@taskplane/client';
import { listOption, parse, positionals, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { paint, table } from './output';

type QueueStats = QueueStatsSubscription['queueStats'][number];

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;

function render(context: CommandContext, stats: QueueStats[]): void {
  const { output } = context;
  table(
    output,
    [
      'QUEUE',
      'PENDING',
      'RUNNING',
      'DELAYED',
      'BLOCKED',
      'DEAD',
      'SUCCEEDED',
      'PER MIN',
      'FAILURE',
      'AVG RUN',
      'ALERTS',
    ],
    stats.map((s) => [
      s.paused ? `${s.name} (paused)` : s.name,
      s.counts.pending,
      s.counts.running,
      s.counts.delayed,
      s.counts.blocked,
      s.counts.deadLettered,
      s.counts.succeeded,
      s.throughputPerMinute.toFixed(1),
      s.failureRate > 0 ? paint(output, 'red', percent(s.failureRate)) : percent(s.failureRate),
      s.avgDurationMs === null || s.avgDurationMs === undefined ? null : `${Math.round(s.avgDurationMs)} ms`,
      s.alerts.length ? paint(output, 'yellow', s.alerts.join(',')) : null,
    ]),
  );
}

/**
 * `taskplane stats [--queue Q] [--type T] [--watch]`: the API's queueStats feed, once or live.
 * Stats are per queue (the API keeps no per-type rates), so `--type` selects the queues its types
 * run on.
 */
export async function stats(context: CommandContext): Promise<void> {
  const parsed = parse(context.argv, COMMAND_TABLE.stats.options);
  positionals(parsed, []);
  const names = new Set(listOption(parsed, 'queue'));
  const types = listOption(parsed, 'type');
  if (types.length) {
    const known = await context.client.taskTypes();
    for (const type of types) {
      const found = known.find((t) => t.name === type);
      if (!found) throw new UsageError(`no task type "${type}" (see the taskTypes query)`);
      names.add(found.queue);
    }
  }
  const watch = parsed.values.watch === true;
  const feed = context.client.watchQueueStats(names.size ? [...names] : undefined);
  const stop = () => feed.close();
  context.signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const { queueStats } of feed) {
      const sorted = [...queueStats].sort((a, b) => a.name.localeCompare(b.name));
      if (context.output.json) {
        context.output.out(
          JSON.stringify(watch ? { at: sorted[0]?.at ?? null, queues: sorted } : sorted, null, watch ? 0 : 2),
        );
      } else {
        // On a terminal --watch redraws in place; piped, each refresh follows the last under its time.
        if (watch && context.output.tty) context.output.out('\x1b[2J\x1b[H');
        if (watch)
          context.output.out(paint(context.output, 'dim', `${sorted[0]?.at ?? ''}  (Ctrl-C to stop)`));
        render(context, sorted);
      }
      if (!watch) break;
    }
  } finally {
    context.signal.removeEventListener('abort', stop);
    feed.close();
  }
}
