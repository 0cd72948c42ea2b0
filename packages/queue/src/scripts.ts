import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_GROUP_WINDOW,
  FINAL_STATUSES,
  FINAL_WORKFLOW_STATUSES,
  type Keys,
  PRIORITY_MAX,
  TRANSITIONS,
} from '@taskplane/core';
import type { Redis } from 'ioredis';
import { COUNTED_EVENTS, SKETCH_GAMMA } from './metrics/metric-fields';

const here = dirname(fileURLToPath(import.meta.url));

function luaTable(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `['${k}'] = ${v}`).join(', ')}}`;
}

/** The transition table of packages/core, rendered as Lua so scripts and TypeScript share one source. */
const TRANSITIONS_LUA = luaTable(
  Object.entries(TRANSITIONS).map(([from, tos]) => [from, luaTable(tos.map((to) => [to, 'true']))]),
);
const FINAL_LUA = luaTable([...FINAL_STATUSES].map((s) => [s, 'true']));
const FINAL_WORKFLOW_LUA = luaTable(FINAL_WORKFLOW_STATUSES.map((s) => [s, 'true']));
const METRIC_OF_EVENT_LUA = luaTable(Object.entries(COUNTED_EVENTS).map(([kind, c]) => [kind, `'${c}'`]));

/** The includes of a script expanded: each `--@include name` line replaced by `scripts/name.lua`, in turn. */
function expandIncludes(text: string): string {
  return text.replace(/^--@include (\w+)$/gm, (_, include: string) =>
    expandIncludes(readFileSync(join(here, 'scripts', `${include}.lua`), 'utf8')),
  );
}

/**
 * A script's text as Redis runs it: its includes expanded (common.lua includes metrics.lua), and
 * the values shared with TypeScript (`__NAME__`) filled in.
 */
export function renderLua(text: string): string {
  return expandIncludes(text)
    .replaceAll('__TRANSITIONS__', TRANSITIONS_LUA)
    .replaceAll('__FINAL__', FINAL_LUA)
    .replaceAll('__FINAL_WORKFLOW__', FINAL_WORKFLOW_LUA)
    .replaceAll('__GROUP_WINDOW__', String(DEFAULT_GROUP_WINDOW))
    .replaceAll('__PRIORITY_MAX__', String(PRIORITY_MAX))
    .replaceAll('__METRIC_OF_EVENT__', METRIC_OF_EVENT_LUA)
    .replaceAll('__METRIC_LOG_GAMMA__', String(Math.log(SKETCH_GAMMA)));
}

function load(name: string): string {
  return renderLua(readFileSync(join(here, 'scripts', `${name}.lua`), 'utf8'));
}

const SCRIPTS = {
  tpProject: { file: 'project', numberOfKeys: 3 },
  tpCancel: { file: 'cancel', numberOfKeys: 1 },
  tpAppendLog: { file: 'append-log', numberOfKeys: 2 },
  tpDelete: { file: 'delete', numberOfKeys: 1 },
  // The first argument says how many keys.
  tpClaimIdempotency: { file: 'claim-idempotency', numberOfKeys: null },
  tpScheduleTick: { file: 'schedule-tick', numberOfKeys: 4 },
  tpPreempt: { file: 'preempt', numberOfKeys: 2 },
  tpGroupsWake: { file: 'groups-wake', numberOfKeys: 1 },
  tpWorkflowTrim: { file: 'workflow-trim', numberOfKeys: 0 },
  tpRepair: { file: 'repair', numberOfKeys: 1 },
  tpMetricsFold: { file: 'metrics-fold', numberOfKeys: 4 },
  tpAlertsCommit: { file: 'alerts-commit', numberOfKeys: 7 },
} as const;
type ScriptName = keyof typeof SCRIPTS;

/**
 * One script as a function of the library: the text before its `--@call` line (its includes and
 * functions) runs once, when the library loads; the text after it runs on each call, with the
 * call's KEYS and ARGV. A script without the line runs whole on each call. Each script is a block
 * of its own, so its includes' state is its own, as when scripts were sent one by one.
 */
function libraryPart(functionName: string, text: string): string {
  const at = text.search(/^--@call$/m);
  const [once, perCall] = at < 0 ? ['', text] : [text.slice(0, at), text.slice(at)];
  return `do\n${once}\nredis.register_function('${functionName}', function(KEYS, ARGV)\n${perCall}\nend)\nend\n`;
}

/**
 * Taskplane's scripts as one Redis function library (Redis 7 Functions), named after a hash of its
 * code. Sent as scripts (EVALSHA), each call ran the whole script: defining its ~100 functions cost
 * Redis 20-40 µs a call, more than applying a submit's own event. A library defines them once. Its
 * name and its functions' names carry the hash, so processes of different versions sharing one
 * Redis each call their own.
 */
function buildLibrary(): { name: string; code: string; functions: Record<ScriptName, string> } {
  const texts = Object.entries(SCRIPTS).map(([name, { file }]) => [name, load(file)] as const);
  const hash = createHash('sha1')
    .update(texts.map(([name, text]) => `${name}\n${text}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const functions = Object.fromEntries(texts.map(([name]) => [name, `${name}_${hash}`])) as Record<
    ScriptName,
    string
  >;
  const parts = texts.map(([name, text]) => libraryPart(functions[name as ScriptName], text));
  const name = `${LIBRARY_PREFIX}${hash}`;
  return { name, code: `#!lua name=${name}\n${parts.join('')}`, functions };
}

/** Libraries of every Taskplane version start with this (`FUNCTION LIST LIBRARYNAME 'taskplane_*'`). */
export const LIBRARY_PREFIX = 'taskplane_';
export const LIBRARY = buildLibrary();

type ScriptArg = string | number;
/** A Redis connection with Taskplane's scripts defined (functions of one library, loaded on demand). */
export interface ScriptedRedis extends Redis {
  tpProject(...args: ScriptArg[]): Promise<[number, string, number, number]>;
  tpCancel(...args: ScriptArg[]): Promise<[string, string?]>;
  tpAppendLog(...args: ScriptArg[]): Promise<number>;
  tpDelete(...args: ScriptArg[]): Promise<number[]>;
  tpClaimIdempotency(numKeys: number, ...args: ScriptArg[]): Promise<string[]>;
  tpScheduleTick(...args: ScriptArg[]): Promise<number>;
  tpPreempt(...args: ScriptArg[]): Promise<string[]>;
  tpGroupsWake(...args: ScriptArg[]): Promise<string>;
  tpWorkflowTrim(...args: ScriptArg[]): Promise<number>;
  tpRepair(...args: ScriptArg[]): Promise<string[]>;
  tpMetricsFold(...args: ScriptArg[]): Promise<[number, number]>;
  tpAlertsCommit(...args: ScriptArg[]): Promise<[number, number?, ...string[]]>;
}

/** Loads in flight, per connection: concurrent calls that find the library missing load it once. */
const loading = new WeakMap<Redis, Promise<unknown>>();

function loadLibrary(redis: Redis): Promise<unknown> {
  let load = loading.get(redis);
  if (!load) {
    load = redis.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.code).finally(() => loading.delete(redis));
    loading.set(redis, load);
  }
  return load;
}

/**
 * Call a script's function. Redis keeps loaded libraries in its data (RDB, AOF), so they survive
 * restarts with persistence; without it, or after `FUNCTION FLUSH`, the first call finds the
 * function missing, loads the library and calls again. The FCALL itself is sent synchronously, so
 * a call inside `inOneWrite` leaves in the same write as the commands around it.
 */
async function callScript(redis: Redis, name: ScriptName, args: ScriptArg[]): Promise<unknown> {
  const fixed = SCRIPTS[name].numberOfKeys;
  const call = () =>
    fixed === null
      ? redis.fcall(LIBRARY.functions[name], ...(args as [number, ...ScriptArg[]]))
      : redis.fcall(LIBRARY.functions[name], fixed, ...args);
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('Function not found')) throw error;
    await loadLibrary(redis);
    return await call();
  }
}

export function withScripts(redis: Redis): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.tpProject === 'function') return scripted;
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    Object.defineProperty(redis, name, { value: (...args: ScriptArg[]) => callScript(redis, name, args) });
  }
  return scripted;
}

/** Arguments every record-writing script takes first, in this order. */
export function recordArgs(keys: Keys, streamMaxLen: number): ScriptArg[] {
  return [keys.taskPrefix, keys.indexPrefix, streamMaxLen];
}

/**
 * `groups-wake.lua`: one page of a queue's groups (from `cursor`) back in the dispatch ring, then a
 * dispatch under the queue's limits as they are now. Resolves to the next cursor, '0' when done.
 */
export function groupsWake(
  redis: ScriptedRedis,
  keys: Keys,
  streamMaxLen: number,
  queue: string,
  cursor: string,
): Promise<string> {
  return redis.tpGroupsWake(
    keys.events,
    ...recordArgs(keys, streamMaxLen),
    keys.bullKeyPrefix,
    queue,
    cursor,
  );
}

/**
 * `workflow-trim.lua`: delete those of `ids` that are finished workflows which finished at or
 * before `finishedBy` (epoch ms), with their node maps and index entries. Resolves to how many.
 */
export function workflowTrim(
  redis: ScriptedRedis,
  keys: Keys,
  finishedBy: number,
  ids: string[],
): Promise<number> {
  return redis.tpWorkflowTrim(keys.workflowPrefix, keys.workflowsPrefix, finishedBy, ...ids);
}
