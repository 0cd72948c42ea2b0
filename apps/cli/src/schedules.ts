import {
  type ScheduleFieldsFragment,
  type ScheduleMissed,
  type ScheduleOverlap,
  unwrap,
} from '@taskplane/client';
import { intOption, json, labels, parse, stringOption, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { record, show, table } from './output';

const OVERLAP = ['skip', 'allow', 'cancel_previous'];
const MISSED = ['skip', 'run_once'];

const trigger = (s: ScheduleFieldsFragment) =>
  s.cron ? `cron ${s.cron} (${s.timezone})` : `every ${s.intervalMs} ms`;
const outcome = (s: ScheduleFieldsFragment) =>
  s.lastOutcome
    ? `${s.lastOutcome.kind}${s.lastOutcome.taskId ? ` ${s.lastOutcome.taskId}` : ''}${s.lastOutcome.reason ? ` (${s.lastOutcome.reason})` : ''}`
    : null;

function scheduleRecord(context: CommandContext, s: ScheduleFieldsFragment): void {
  record(context.output, [
    ['id', s.id],
    ['name', s.name],
    ['task', `${s.task.type} ${JSON.stringify(s.task.params)}`],
    ['trigger', trigger(s)],
    ['overlap', s.overlap],
    ['missed', s.missed],
    ['paused', s.paused],
    ['next run', s.nextRunAt],
    ['last', outcome(s)],
  ]);
}

function choice<T extends string>(value: string | undefined, allowed: string[], flag: string): T | null {
  if (value === undefined) return null;
  if (!allowed.includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value.toUpperCase() as T;
}

/** `taskplane schedules ls|add|rm|pause|resume|trigger|next`. */
export async function schedules(context: CommandContext): Promise<void> {
  const parsed = parse(context.argv, COMMAND_TABLE.schedules.options);
  const [action, ...rest] = parsed.positionals;
  const { client, output } = context;
  const one = () => {
    if (rest.length !== 1) throw new UsageError(`schedules ${action} takes one <id>`);
    return rest[0]!;
  };
  switch (action) {
    case 'ls': {
      const page = unwrap(
        await client.schedules({ first: intOption(parsed, 'first') ?? 50 }),
        'ScheduleConnection',
      );
      show(output, page.nodes, (nodes) =>
        table(
          output,
          ['ID', 'NAME', 'TYPE', 'TRIGGER', 'PAUSED', 'NEXT RUN', 'LAST'],
          nodes.map((s) => [s.id, s.name, s.task.type, trigger(s), s.paused, s.nextRunAt, outcome(s)]),
        ),
      );
      return;
    }
    case 'add': {
      if (rest.length !== 2) throw new UsageError('schedules add takes <name> <type>');
      const params = stringOption(parsed, 'params');
      const created = unwrap(
        await client.createSchedule({
          name: rest[0]!,
          task: {
            type: rest[1]!,
            params: params === undefined ? {} : json(params, '--params'),
            queue: stringOption(parsed, 'queue') ?? null,
            priority: intOption(parsed, 'priority') ?? null,
            labels: labels(parsed),
          },
          cron: stringOption(parsed, 'cron') ?? null,
          timezone: stringOption(parsed, 'tz') ?? null,
          intervalMs: intOption(parsed, 'every') ?? null,
          overlap: choice<ScheduleOverlap>(stringOption(parsed, 'overlap'), OVERLAP, '--overlap'),
          missed: choice<ScheduleMissed>(stringOption(parsed, 'missed'), MISSED, '--missed'),
          paused: parsed.values.paused === true,
        }),
        'Schedule',
      );
      show(output, created, (s) => {
        output.out(`created schedule ${s.id}`);
        scheduleRecord(context, s);
      });
      return;
    }
    case 'rm': {
      const deleted = unwrap(await client.deleteSchedule(one()), 'Schedule');
      show(output, deleted, (s) => output.out(`deleted schedule ${s.id} (${s.name})`));
      return;
    }
    case 'pause':
    case 'resume': {
      const id = one();
      const result = action === 'pause' ? await client.pauseSchedule(id) : await client.resumeSchedule(id);
      show(output, unwrap(result, 'Schedule'), (s) => scheduleRecord(context, s));
      return;
    }
    case 'trigger': {
      const fired = unwrap(await client.triggerSchedule(one()), 'TickOutcome');
      show(output, fired, (o) => output.out(o.taskId ? `submitted ${o.taskId}` : `not run: ${o.reason}`));
      return;
    }
    case 'next': {
      const schedule = await client.schedule(one(), intOption(parsed, 'count') ?? 5);
      if (!schedule) throw new UsageError(`no schedule with id ${rest[0]}`);
      show(output, schedule.nextRuns, (runs) => {
        for (const run of runs) output.out(String(run));
      });
      return;
    }
    default:
      throw new UsageError('schedules takes ls, add, rm, pause, resume, trigger or next');
  }
}
