import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { MAX_ALERT_WINDOW_MS } from './alert';
import { TaskplaneConfig } from './config';
import { ConfigError } from './errors';

/** The defaults every deployment starts from. */
export const DEFAULT_CONFIG_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../config/taskplane.yaml',
);

/** Environment variables the loader understands besides `TASKPLANE_<SECTION>__<KEY>`. */
const ENV_ALIASES: Record<string, string[]> = {
  REDIS_URL: ['redis', 'url'],
  TASKPLANE_MODE: ['mode'],
  TASKPLANE_PREFIX: ['redis', 'prefix'],
};
/** `TASKPLANE_*` variables that are not configuration keys. */
const NOT_OVERRIDES = new Set([
  'TASKPLANE_CONFIG', // path of the operator's config file
  'TASKPLANE_LOG_LEVEL', // pino level of every app
  'TASKPLANE_SPAWNED_REDIS', // set by `pnpm start` when it embedded redis-server
  'TASKPLANE_DATA_DIR', // where `pnpm start` keeps the embedded Redis's data
  'TASKPLANE_DEFAULT_REDIS_URL', // what `pnpm start` probes when redis.url is null
  'TASKPLANE_API_URL', // the API the console server points browsers at
  // Client settings of the CLI and @taskplane/client (README: "export TASKPLANE_URL=... TASKPLANE_TOKEN=..."),
  // exported in the same shell that runs `pnpm start` or `taskplane worker start`.
  'TASKPLANE_URL',
  'TASKPLANE_TOKEN',
]);

export interface LoadConfigOptions {
  /** The environment to read overrides from; apps pass `process.env`. */
  env?: Record<string, string | undefined>;
  /** A file merged over the defaults; defaults to `env.TASKPLANE_CONFIG`. */
  file?: string;
  /** Applied last; tests use it. */
  overrides?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

function readYaml(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError ? ` (line ${error.linePos?.[0]?.line ?? '?'})` : '';
    throw new ConfigError(
      `config file ${path} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (doc == null) return {};
  if (!isTree(doc))
    throw new ConfigError(`config file ${path} must hold a mapping of keys, got ${typeof doc}`);
  return doc;
}

function envOverrides(env: Record<string, string | undefined>): { tree: Tree; sources: Map<string, string> } {
  let tree: Tree = {};
  const sources = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || NOT_OVERRIDES.has(name)) continue;
    let path = ENV_ALIASES[name];
    if (!path && name.startsWith('TASKPLANE_')) {
      path = name
        .slice('TASKPLANE_'.length)
        .split('__')
        .map((p) => p.toLowerCase());
    }
    if (!path) continue;
    let value: unknown = raw;
    // Values are YAML scalars so that numbers, booleans, null and [lists] come through typed.
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    if (name === 'REDIS_URL') value = raw === '' ? null : raw;
    let node: Tree = { [path.at(-1)!]: value };
    for (const key of path.slice(0, -1).reverse()) node = { [key]: node };
    tree = merge(tree, node);
    sources.set(path.join('.'), name);
  }
  return { tree, sources };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text && text.length > 60 ? `${text.slice(0, 57)}...` : (text ?? String(value));
}

function valueAt(tree: unknown, path: PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) {
    if (!isTree(node)) return undefined;
    node = node[key as string];
  }
  return node;
}

function formatIssues(issues: z.core.$ZodIssue[], raw: Tree, sources: Map<string, string>): string {
  return issues
    .map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      return keys
        .map((extra) => {
          const path = extra === undefined ? issue.path : [...issue.path, extra];
          const key = path.map(String).join('.') || '(root)';
          const from = sources.get(key) ? ` (from ${sources.get(key)})` : '';
          if (extra !== undefined) return `  ${key}${from}: unknown key; check its spelling or remove it`;
          return `  ${key}${from}: ${issue.message} (got ${describe(valueAt(raw, path))})`;
        })
        .join('\n');
    })
    .join('\n');
}

/**
 * Read the defaults, the operator's file and the environment, validate once, and return the
 * configuration or throw a `ConfigError` naming each bad key, its value and what was expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): TaskplaneConfig {
  const env = options.env ?? {};
  let raw = readYaml(DEFAULT_CONFIG_PATH);
  const file = options.file ?? env.TASKPLANE_CONFIG;
  if (file) raw = merge(raw, readYaml(resolve(file)));
  const { tree, sources } = envOverrides(env);
  raw = merge(raw, tree);
  if (options.overrides) raw = merge(raw, options.overrides);
  const parsed = TaskplaneConfig.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration${file ? ` (${file})` : ''}:\n${formatIssues(parsed.error.issues, raw, sources)}`,
    );
  }
  const config = parsed.data;
  for (const [name, queue] of Object.entries(config.queues)) {
    if (queue.concurrency > config.workers.max_count) {
      throw new ConfigError(
        `invalid configuration:\n  queues.${name}.concurrency: ${queue.concurrency} is above workers.max_count (${config.workers.max_count})`,
      );
    }
  }
  const problems = alertRuleProblems(config);
  if (problems.length)
    throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return config;
}

const TOO_LONG = 'at most 6h (it bounds the minute buckets one evaluation reads)';

/** What configured alert rules get wrong that their schema cannot see: thresholds, queues, types. */
function alertRuleProblems(config: TaskplaneConfig): string[] {
  const problems: string[] = [];
  if (config.alerts.defaults.window > MAX_ALERT_WINDOW_MS)
    problems.push(`alerts.defaults.window: ${TOO_LONG}`);
  for (const [name, rule] of Object.entries(config.alerts.rules)) {
    const at = `alerts.rules.${name}`;
    if (
      rule.threshold === undefined &&
      rule.metric !== 'worker_gone' &&
      !(rule.metric in config.monitoring.alerts)
    )
      problems.push(`${at}.threshold: required for metric ${rule.metric}`);
    if (rule.window !== undefined && rule.window > MAX_ALERT_WINDOW_MS)
      problems.push(`${at}.window: ${TOO_LONG}`);
    if (rule.queue !== null && !(rule.queue in config.queues))
      problems.push(
        `${at}.queue: no queue named ${rule.queue}; known: ${Object.keys(config.queues).join(', ')}`,
      );
  }
  return problems;
}
