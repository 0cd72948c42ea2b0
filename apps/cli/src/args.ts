import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { LabelInput, TaskFilter, TaskStatus } from '@taskplane/client';

/** A mistake in how the command was called: exit code 2 and the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/** Options of the commands that select tasks (`list`, `watch`, `dlq`). */
export const FILTER_OPTIONS = {
  status: { type: 'string', multiple: true },
  type: { type: 'string', multiple: true },
  queue: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
} as const satisfies Options;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * `node:util` parseArgs with the global options added; its errors become usage errors. `lenient`
 * lets options of the command through (to read the global ones before the command runs).
 */
export function parse(argv: string[], options: Options, lenient = false): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: !lenient,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The positionals a command needs, by name, and no more. */
export function positionals(parsed: Parsed, names: string[]): string[] {
  if (parsed.positionals.length !== names.length) {
    throw new UsageError(
      `expected ${names.length ? names.map((n) => `<${n}>`).join(' ') : 'no arguments'}, got ${
        parsed.positionals.length ? parsed.positionals.join(' ') : 'none'
      }`,
    );
  }
  return parsed.positionals;
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(parsed: Parsed, name: string): string[] {
  const value = parsed.values[name];
  return Array.isArray(value) ? value.map(String) : [];
}

export function intOption(parsed: Parsed, name: string): number | undefined {
  const text = stringOption(parsed, name);
  return text === undefined ? undefined : integer(text, `--${name}`);
}

export function integer(text: string, what: string): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${what} must be an integer, got "${text}"`);
  return Number(text);
}

export function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** `--label k=v`, repeatable. */
export function labels(parsed: Parsed): LabelInput[] {
  return listOption(parsed, 'label').map((text) => {
    const at = text.indexOf('=');
    if (at < 1) throw new UsageError(`--label must be key=value, got "${text}"`);
    return { key: text.slice(0, at), value: text.slice(at + 1) };
  });
}

/** `--status`, `--type`, `--queue`, `--label` as a task filter; statuses are case-insensitive. */
export function filter(parsed: Parsed): TaskFilter {
  const result: TaskFilter = {};
  const status = listOption(parsed, 'status').flatMap((s) => s.split(','));
  if (status.length) result.status = status.map((s) => s.toUpperCase() as TaskStatus);
  const type = listOption(parsed, 'type');
  if (type.length) result.type = type;
  const queue = listOption(parsed, 'queue');
  if (queue.length) result.queue = queue;
  const byLabel = labels(parsed);
  if (byLabel.length) result.labels = byLabel;
  return result;
}
