import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GROUP_WINDOW, FINAL_STATUSES, type Keys, PRIORITY_MAX, TRANSITIONS } from '@taskplane/core';
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
const METRIC_OF_EVENT_LUA = luaTable(Object.entries(COUNTED_EVENTS).map(([kind, c]) => [kind, `'${c}'`]));

/**
 * A script's text with its `--@include name` lines replaced by `scripts/name.lua`, whose own
 * includes are replaced in turn (common.lua includes metrics.lua).
 */
export function renderLua(text: string): string {
  return text.replace(/^--@include (\w+)$/gm, (_, include: string) =>
    renderLua(readFileSync(join(here, 'scripts', `${include}.lua`), 'utf8'))
      .replace('__TRANSITIONS__', TRANSITIONS_LUA)
      .replace('__FINAL__', FINAL_LUA)
      .replace('__GROUP_WINDOW__', String(DEFAULT_GROUP_WINDOW))
      .replace('__PRIORITY_MAX__', String(PRIORITY_MAX))
      .replace('__METRIC_OF_EVENT__', METRIC_OF_EVENT_LUA)
      .replace('__METRIC_GAMMA__', String(SKETCH_GAMMA)),
  );
}

function load(name: string): string {
  return renderLua(readFileSync(join(here, 'scripts', `${name}.lua`), 'utf8'));
}

const SCRIPTS = {
  tpProject: { lua: load('project'), numberOfKeys: 3 },
  tpCancel: { lua: load('cancel'), numberOfKeys: 1 },
  tpAppendLog: { lua: load('append-log'), numberOfKeys: 2 },
  tpDelete: { lua: load('delete'), numberOfKeys: 1 },
  tpClaimIdempotency: { lua: load('claim-idempotency') },
  tpScheduleTick: { lua: load('schedule-tick'), numberOfKeys: 4 },
  tpPreempt: { lua: load('preempt'), numberOfKeys: 2 },
  tpGroupsWake: { lua: load('groups-wake'), numberOfKeys: 1 },
  tpWorkflowTrim: { lua: load('workflow-trim'), numberOfKeys: 0 },
  tpRepair: { lua: load('repair'), numberOfKeys: 1 },
  tpMetricsFold: { lua: load('metrics-fold'), numberOfKeys: 4 },
  tpAlertsCommit: { lua: load('alerts-commit'), numberOfKeys: 7 },
} as const;

type ScriptArg = string | number;
/** A Redis connection with Taskplane's scripts defined (sent by SHA, loaded once per connection). */
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

export function withScripts(redis: Redis): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.tpProject === 'function') return scripted;
  for (const [name, definition] of Object.entries(SCRIPTS)) redis.defineCommand(name, definition);
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
