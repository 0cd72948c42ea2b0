/**
 * `pnpm start`: the whole control plane in one terminal. Resolves Redis (REDIS_URL / redis.url,
 * else 127.0.0.1:6379 when it answers, else an embedded `redis-server`), then runs the API, a
 * worker and the console as child processes with tagged, compact output, and stops them all on
 * Ctrl-C or SIGTERM (the embedded Redis last).
 *
 * Besides the configuration's own variables (`TASKPLANE_<SECTION>__<KEY>`, `REDIS_URL`,
 * `TASKPLANE_CONFIG`), two variables steer this launcher only and are not passed on:
 * - `TASKPLANE_DATA_DIR`: where the embedded Redis keeps its data, under `redis/`
 *   (default `<repo>/.taskplane`).
 * - `TASKPLANE_DEFAULT_REDIS_URL`: the address probed when `redis.url` is null
 *   (default `redis://127.0.0.1:6379`); tests point it at a closed port.
 * - `TASKPLANE_DEMO_CATALOGUE_PORT`: where the bundled demo catalogue listens when
 *   `catalogue.base_url` is null (default 4100, the address the README's examples use; a free
 *   port when it is taken, and the banner says which).
 *
 * Stopping goes in the order the work flows: the API and the console (no new tasks), then the
 * worker (it drains: running tasks finish within `workers.shutdown_timeout` or are handed back),
 * then the catalogue those tasks still read from, then an embedded Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  checkRedisServer,
  createRedis,
  DEFAULT_REDIS_URL,
  freePort,
  loadConfig,
  redactUrl,
  redisAnswers,
  type SpawnedRedis,
  spawnRedisServer,
  type TaskplaneConfig,
} from '@taskplane/core';
import { buildConsole, CONSOLE_DIR, CONSOLE_ENTRY, consoleBuildIsStale } from './console-build';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAUNCHER_VARS = [
  'TASKPLANE_DATA_DIR',
  'TASKPLANE_DEFAULT_REDIS_URL',
  'TASKPLANE_DEMO_CATALOGUE_PORT',
] as const;
/** The demo catalogue's port unless taken: the README's examples name `http://127.0.0.1:4100/products/p1`. */
const DEMO_CATALOGUE_PORT = 4100;
/** The order children stop in; those of one step stop together. */
const STOP_ORDER: Tag[][] = [['api', 'console'], ['worker'], ['catalog']];
/** Longest wait for the API and console to answer after they start. */
const READY_TIMEOUT_MS = 60_000;
/** Added to `workers.shutdown_timeout` before a child that ignores SIGTERM is killed. */
const STOP_MARGIN_MS = 5_000;

type Tag = 'api' | 'worker' | 'console' | 'redis' | 'catalog';
type Env = Record<string, string | undefined>;

// ---- output -------------------------------------------------------------------------------------

const COLOURS: Record<Tag, number> = { api: 36, worker: 35, console: 32, redis: 31, catalog: 34 };
const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);
const LEVELS: Record<number, [string, number]> = {
  10: ['TRACE', 90],
  20: ['DEBUG', 90],
  30: ['INFO ', 32],
  40: ['WARN ', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 31],
};
/** pino fields that the compact line shows elsewhere or that only add noise in a terminal. */
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);
const MAX_FIELDS = 4;

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A pino JSON line as `12:00:01 INFO  msg key=value ...`; any other line unchanged. */
function compact(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry.level !== 'number' || typeof entry.msg !== 'string') return line;
  const [level, colour] = LEVELS[entry.level] ?? [String(entry.level), 0];
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const err = entry.err as { message?: string; stack?: string } | undefined;
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key) && key !== 'err')
    .slice(0, MAX_FIELDS)
    .map(([key, value]) => `${key}=${short(value)}`);
  const text = [time, paint(colour, level), entry.msg, ...fields].filter(Boolean).join(' ');
  if (!err) return text;
  return entry.level >= 50 && err.stack ? `${text}\n${err.stack}` : `${text} err=${short(err.message)}`;
}

function print(tag: Tag, line: string): void {
  const label = paint(COLOURS[tag], `${tag.padEnd(7)}|`);
  for (const part of compact(line).split('\n')) process.stdout.write(`${label} ${part}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

// ---- configuration and Redis --------------------------------------------------------------------

/** The environment without this launcher's own variables, which the config loader would reject. */
function withoutLauncherVars(env: Env): Env {
  const rest = { ...env };
  for (const name of LAUNCHER_VARS) delete rest[name];
  return rest;
}

interface ResolvedRedis {
  url: string;
  embedded: SpawnedRedis | null;
}

async function resolveRedis(config: TaskplaneConfig): Promise<ResolvedRedis> {
  if (config.redis.url) return { url: config.redis.url, embedded: null };
  const probe = process.env.TASKPLANE_DEFAULT_REDIS_URL || DEFAULT_REDIS_URL;
  if (await redisAnswers(probe)) return { url: probe, embedded: null };
  const dir = path.join(process.env.TASKPLANE_DATA_DIR || path.join(ROOT, '.taskplane'), 'redis');
  const embedded = await spawnRedisServer({ dir, detached: true });
  print('redis', `no REDIS_URL set and nothing answers at ${redactUrl(probe)}:`);
  print('redis', `started an embedded redis-server (pid ${embedded.pid}) at ${embedded.url}`);
  print('redis', `data (append-only file) in ${dir}; it stops when Taskplane stops`);
  return { url: embedded.url, embedded };
}

/** Refuse a Redis that is too old or evicts keys (ARCHITECTURE.md invariant 6). */
async function checkRedis(url: string, config: TaskplaneConfig): Promise<void> {
  const redis = createRedis({ url, role: 'producer', connectTimeoutMs: config.redis.connect_timeout });
  try {
    await checkRedisServer(redis, url);
  } finally {
    redis.disconnect();
  }
}

// ---- children -----------------------------------------------------------------------------------

interface Child {
  tag: Tag;
  process: ChildProcess;
  exited: Promise<void>;
}

function run(tag: Tag, args: string[], env: Env, cwd = ROOT): Child {
  // Detached: a terminal's Ctrl-C reaches only this launcher, which stops the children in order.
  const child = spawn(process.execPath, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const input of [child.stdout, child.stderr]) {
    createInterface({ input }).on('line', (line) => print(tag, line));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { tag, process: child, exited };
}

/** Whether `port` can be listened on at 127.0.0.1 right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function demoCataloguePort(): Promise<number> {
  const wanted = Number(process.env.TASKPLANE_DEMO_CATALOGUE_PORT || DEMO_CATALOGUE_PORT);
  if (await portIsFree(wanted)) return wanted;
  const port = await freePort();
  print('catalog', `port ${wanted} is taken; the demo catalogue uses ${port} (the banner's example uses it)`);
  return port;
}

/** A command line argument quoted for POSIX shells. */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

const isRunning = (child: Child) => child.process.exitCode === null && child.process.signalCode === null;

async function stopChild(child: Child, timeoutMs: number): Promise<void> {
  if (!isRunning(child)) return;
  print(child.tag, 'stopping');
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => {
    print(child.tag, `did not stop within ${timeoutMs} ms; killing it`);
    child.process.kill('SIGKILL');
  }, timeoutMs);
  await child.exited;
  clearTimeout(timer);
  print(child.tag, 'stopped');
}

/** Poll `url` until `accept(status)`; false when `deadline` passes or `cancelled()` turns true. */
async function answers(url: string, accept: (status: number) => boolean, cancelled: () => boolean) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!cancelled() && Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status && accept(status)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** A host a client can dial: a wildcard bind address means this machine. */
const dialHost = (host: string) => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host);
const httpUrl = (host: string, port: number) => {
  const name = dialHost(host);
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
};

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const env = withoutLauncherVars(process.env);
  let config: TaskplaneConfig;
  try {
    config = loadConfig({ env });
  } catch (error) {
    fail((error as Error).message);
  }

  let redis: ResolvedRedis | null = null;
  const children: Child[] = [];
  let stopping = false;

  async function shutdown(code: number, reason?: string): Promise<void> {
    if (stopping) {
      // A second Ctrl-C while stopping: do not wait any longer.
      for (const child of children) if (isRunning(child)) child.process.kill('SIGKILL');
      return;
    }
    stopping = true;
    if (reason) process.stderr.write(`${reason}\n`);
    const timeoutMs = config.workers.shutdown_timeout + STOP_MARGIN_MS;
    for (const step of STOP_ORDER) {
      const group = children.filter((child) => step.includes(child.tag));
      await Promise.all(group.map((child) => stopChild(child, timeoutMs)));
    }
    if (redis?.embedded) {
      print('redis', `stopping the embedded redis-server (pid ${redis.embedded.pid})`);
      await redis.embedded.stop();
    }
    process.exit(code);
  }
  // Installed before Redis is resolved, so an early SIGTERM still stops an embedded redis-server.
  // SIGHUP too: the children run in their own sessions, so a closed terminal reaches only this process.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));

  try {
    redis = await resolveRedis(config);
    await checkRedis(redis.url, config);
    if (consoleBuildIsStale()) {
      print('console', 'building the console (apps/console/build is missing or older than its sources)');
      await buildConsole((line) => print('console', line));
    }
  } catch (error) {
    return shutdown(1, (error as Error).message);
  }
  if (stopping) return;

  const apiUrl = httpUrl(config.api.host, config.api.port);
  const consoleUrl = httpUrl(config.console.host, config.console.port);
  const appEnv: Env = {
    ...env,
    REDIS_URL: redis.url,
    ...(redis.embedded ? { TASKPLANE_SPAWNED_REDIS: '1' } : {}),
  };
  const allowedOrigins = [...new Set([...config.api.allowed_origins, consoleUrl])];
  // Development: an admin token to sign in to the console with, shown in the banner below.
  const adminToken =
    config.auth.bootstrap_token ??
    (config.mode === 'development' ? `tp_dev_${randomBytes(18).toString('base64url')}` : null);
  // No marketplace configured: run the bundled demo catalogue so the product-sync tasks have a source.
  const demoCatalogue =
    config.catalogue.base_url === null ? httpUrl('127.0.0.1', await demoCataloguePort()) : null;
  const started: Child[] = [
    run('api', ['--import', 'tsx', 'apps/api/src/main.ts'], {
      ...appEnv,
      TASKPLANE_API__ALLOWED_ORIGINS: JSON.stringify(allowedOrigins),
      ...(adminToken ? { TASKPLANE_AUTH__BOOTSTRAP_TOKEN: adminToken } : {}),
    }),
    run('worker', ['--import', 'tsx', 'apps/worker/src/main.ts'], {
      ...appEnv,
      ...(demoCatalogue ? { TASKPLANE_CATALOGUE__BASE_URL: demoCatalogue } : {}),
    }),
    ...(demoCatalogue
      ? [
          run(
            'catalog',
            ['--import', 'tsx', 'test/fixtures/catalogue/main.ts', '--port', new URL(demoCatalogue).port],
            env,
          ),
        ]
      : []),
    run(
      'console',
      [CONSOLE_ENTRY],
      {
        ...appEnv,
        HOST: config.console.host,
        PORT: String(config.console.port),
        TASKPLANE_API_URL: `${apiUrl}/graphql`,
      },
      CONSOLE_DIR,
    ),
  ];
  for (const child of started) {
    children.push(child);
    child.process.once('exit', (code, signal) => {
      if (stopping) return;
      void shutdown(
        1,
        `${child.tag} exited unexpectedly (${signal ?? `exit code ${code}`}); stopping the others`,
      );
    });
  }

  const cancelled = () => stopping;
  if (!(await answers(`${apiUrl}/readyz`, (status) => status === 200, cancelled))) {
    if (stopping) return;
    return shutdown(1, `the API did not answer ${apiUrl}/readyz with 200 within ${READY_TIMEOUT_MS} ms`);
  }
  if (!(await answers(consoleUrl, (status) => status < 500, cancelled))) {
    if (stopping) return;
    return shutdown(1, `the console did not answer at ${consoleUrl} within ${READY_TIMEOUT_MS} ms`);
  }
  // One command that works as pasted: a product of the demo catalogue, this API, this token.
  const example = demoCatalogue
    ? [
        ...(apiUrl === 'http://127.0.0.1:4000' ? [] : [`TASKPLANE_URL=${apiUrl}/graphql`]),
        // A configured bootstrap token is a secret the operator has: never echo it.
        ...(adminToken && !config.auth.bootstrap_token ? [`TASKPLANE_TOKEN=${adminToken}`] : []),
        'pnpm exec taskplane submit single_product --params',
        shellQuote(JSON.stringify({ url: `${demoCatalogue}/products/p1` })),
        '--label shop=demo',
      ].join(' ')
    : null;
  const where = redis.embedded
    ? `${redis.url} (embedded redis-server pid ${redis.embedded.pid}, data in ${redis.embedded.dir})`
    : `${redactUrl(redis.url)} (not started by Taskplane)`;
  process.stdout.write(
    [
      '',
      'Taskplane is running.',
      `  GraphQL: ${apiUrl}/graphql`,
      `  Console: ${consoleUrl}`,
      `  Redis:   ${where}`,
      ...(demoCatalogue
        ? [`  Catalog: ${demoCatalogue} (the bundled demo source; set catalogue.base_url for a real one)`]
        : []),
      ...(adminToken && !config.auth.bootstrap_token
        ? [`  Sign in: ${adminToken} (development admin token, new each start)`]
        : []),
      ...(example ? ['Try it:', `  ${example}`] : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

await main();
