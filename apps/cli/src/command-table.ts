import type { ParseArgsConfig } from 'node:util';
import { FILTER_OPTIONS, GLOBAL_OPTIONS } from './args';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A command as the parser and shell completion see it. */
export interface CommandSpec {
  /** The words its first argument takes (`dlq list|requeue|purge`), if it takes one of a fixed set. */
  actions?: readonly string[];
  /** Its options besides the global ones (`GLOBAL_OPTIONS`). */
  options: Options;
}

const none = {} as const satisfies Options;
const dryRun = { 'dry-run': { type: 'boolean', default: false } } as const satisfies Options;

/**
 * Every command and its options, in one table: each command parses its arguments with its entry,
 * and `taskplane completion` prints shell completion from it, so a new flag is completed as soon
 * as it is accepted.
 */
export const COMMAND_TABLE = {
  submit: {
    options: {
      params: { type: 'string' },
      priority: { type: 'string' },
      label: { type: 'string', multiple: true },
      delay: { type: 'string' },
      'idempotency-key': { type: 'string' },
      queue: { type: 'string' },
      order: { type: 'string' },
      group: { type: 'string' },
      wait: { type: 'boolean', default: false },
      bulk: { type: 'string' },
    },
  },
  get: { options: none },
  list: { options: { ...FILTER_OPTIONS, first: { type: 'string' }, after: { type: 'string' } } },
  cancel: { options: { reason: { type: 'string' } } },
  retry: { options: none },
  watch: {
    options: { ...FILTER_OPTIONS, kind: { type: 'string', multiple: true }, after: { type: 'string' } },
  },
  tail: {
    options: { ...FILTER_OPTIONS, kind: { type: 'string', multiple: true }, after: { type: 'string' } },
  },
  logs: { options: { follow: { type: 'boolean', short: 'f', default: false } } },
  queues: { options: none },
  workers: { options: none },
  dlq: {
    actions: ['list', 'requeue', 'purge'],
    options: { ...FILTER_OPTIONS, first: { type: 'string' }, ...dryRun },
  },
  concurrency: { options: { global: { type: 'string' } } },
  pause: { options: none },
  resume: { options: none },
  token: { actions: ['create'], options: none },
  health: { options: none },
  stats: {
    options: {
      queue: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      watch: { type: 'boolean', short: 'w', default: false },
    },
  },
  clean: {
    options: {
      queue: { type: 'string', multiple: true },
      status: { type: 'string', multiple: true },
      'finished-before': { type: 'string' },
      ...dryRun,
    },
  },
  repair: { options: dryRun },
  tune: { options: none },
  schedules: {
    actions: ['ls', 'add', 'rm', 'pause', 'resume', 'trigger', 'next'],
    options: {
      first: { type: 'string' },
      cron: { type: 'string' },
      tz: { type: 'string' },
      every: { type: 'string' },
      params: { type: 'string' },
      overlap: { type: 'string' },
      missed: { type: 'string' },
      label: { type: 'string', multiple: true },
      queue: { type: 'string' },
      priority: { type: 'string' },
      paused: { type: 'boolean', default: false },
      count: { type: 'string' },
    },
  },
  workflow: {
    actions: ['submit', 'get', 'watch', 'ls'],
    options: { first: { type: 'string' }, status: { type: 'string' } },
  },
  worker: { actions: ['start'], options: { queues: { type: 'string' }, concurrency: { type: 'string' } } },
  completion: { actions: ['bash', 'zsh', 'fish'], options: none },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMAND_TABLE;

/** A command's flags as typed on the command line (`--dry-run`, `-f`), global ones included. */
export function flagsOf(name: CommandName): string[] {
  const options: Options = { ...COMMAND_TABLE[name].options, ...GLOBAL_OPTIONS };
  return Object.entries(options).flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
}
