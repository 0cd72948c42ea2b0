import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@taskplane/core';
import { sharedRedisUrl } from './redis';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How many trailing output lines an error message quotes. */
const TAIL_LINES = 60;

/** Environment for a child; `undefined` removes a variable inherited from the test process. */
export type ChildEnv = Record<string, string | undefined>;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A real child process whose output is captured line by line. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  /** Every line written to stdout or stderr so far, in arrival order. */
  readonly lines: string[];
  /** The captured output, for assertions and for printing when a test fails. */
  output(): string;
  /** Resolves with the first line (seen or still to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  readonly exited: Promise<ProcessExit>;
  /** Sends `signal` to the PID and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ProcessExit>;
  /** SIGKILL to the PID, then waits for the exit. */
  kill(): Promise<ProcessExit>;
}

/** The API process: `url` is its base URL (`/healthz`, `/readyz`), `graphqlUrl` its endpoint. */
export interface ApiProcess extends RunningProcess {
  url: string;
  graphqlUrl: string;
  port: number;
}

export interface StartAppOptions {
  /** `redis.prefix` (`TASKPLANE_PREFIX`); use `uniquePrefix(name)`. */
  prefix: string;
  /** Default: the shared Redis. */
  redisUrl?: string;
  env?: ChildEnv;
  /** Merged over the defaults through a temporary config file (`TASKPLANE_CONFIG`). */
  configOverrides?: Record<string, unknown>;
  /** How long the API gets to answer `/healthz` with 200; default 30 s. */
  readyTimeoutMs?: number;
}

/**
 * Preloaded into every child: when the test process goes away, however it goes (vitest kills its
 * workers rather than letting them exit), the child's stdin pipe closes and the child sends itself
 * SIGTERM, so no server outlives the run holding ports and Redis connections. The pipe is unref'd
 * and never keeps the child alive.
 */
const ORPHAN_GUARD = `data:text/javascript,${encodeURIComponent(
  "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')).resume().unref();",
)}`;

/** Spawns `node <args>` in the repository root and captures its output. */
function runNode(name: string, args: string[], env: ChildEnv, cleanup?: () => void): RunningProcess {
  const merged: ChildEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  const child = spawn(process.execPath, ['--import', ORPHAN_GUARD, ...args], { cwd: ROOT, env: merged });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const input of [child.stdout, child.stderr]) {
    createInterface({ input }).on('line', (line) => {
      lines.push(line);
      for (const listener of listeners) listener(line);
    });
  }
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      cleanup?.();
      // Let readline deliver the last lines before anyone looks at the output.
      setImmediate(() => resolve({ code, signal }));
    }),
  );
  const output = () => lines.join('\n');
  const describeTail = () => `--- last output of ${name} ---\n${lines.slice(-TAIL_LINES).join('\n')}`;

  async function stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ProcessExit> {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  }

  function waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const finish = (error: Error | null, match?: RegExpExecArray) => {
        clearTimeout(timer);
        listeners.delete(onLine);
        if (error) reject(error);
        else resolve(match!);
      };
      const onLine = (line: string) => {
        const match = pattern.exec(line);
        if (match) finish(null, match);
      };
      const timer = setTimeout(
        () =>
          finish(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms\n${describeTail()}`)),
        timeoutMs,
      );
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return finish(null, match);
      }
      listeners.add(onLine);
      void exited.then(({ code, signal }) =>
        finish(
          new Error(`${name} exited (${signal ?? code}) before a line matched ${pattern}\n${describeTail()}`),
        ),
      );
    });
  }

  return {
    name,
    pid: child.pid!,
    lines,
    output,
    waitForLine,
    exited,
    stop,
    kill: () => stop('SIGKILL'),
  };
}

/** Writes `overrides` as a config file (JSON is YAML) in a temporary directory. */
function configFile(overrides: Record<string, unknown>): { file: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tptest-config-'));
  const file = path.join(dir, 'taskplane.yaml');
  writeFileSync(file, JSON.stringify(overrides, null, 2));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function waitForReady(api: RunningProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void api.exited.then(() => {
    exited = true;
  });
  while (!exited && Date.now() < deadline) {
    const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await api.kill();
  const why = exited
    ? 'exited before it was ready'
    : `did not answer /healthz with 200 within ${timeoutMs} ms`;
  throw new Error(`api ${why}\n--- output ---\n${api.output()}`);
}

/**
 * Runs `node --import tsx apps/<name>/src/main.ts` as a real process against `redisUrl` with its
 * own prefix. The API gets a free port on 127.0.0.1 and is returned once `/healthz` answers 200 (`/readyz`
 * also wants a worker online); a
 * worker is returned as soon as it is spawned (wait on its log lines with `waitForLine`).
 */
export async function startApp(name: 'api', options: StartAppOptions): Promise<ApiProcess>;
export async function startApp(name: 'worker', options: StartAppOptions): Promise<RunningProcess>;
export async function startApp(name: 'api' | 'worker', options: StartAppOptions): Promise<RunningProcess> {
  const config = options.configOverrides ? configFile(options.configOverrides) : null;
  const requested = Number(options.env?.TASKPLANE_API__PORT ?? 0);
  const port = name === 'api' ? requested || (await freePort()) : 0;
  const env: ChildEnv = {
    REDIS_URL: options.redisUrl ?? sharedRedisUrl(),
    TASKPLANE_PREFIX: options.prefix,
    ...(config ? { TASKPLANE_CONFIG: config.file } : {}),
    ...(name === 'api' ? { TASKPLANE_API__HOST: '127.0.0.1', TASKPLANE_API__PORT: String(port) } : {}),
    ...options.env,
  };
  const app = runNode(name, ['--import', 'tsx', `apps/${name}/src/main.ts`], env, config?.remove);
  if (name === 'worker') return app;
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(app, url, options.readyTimeoutMs ?? 30_000);
  return Object.assign(app, { url, graphqlUrl: `${url}/graphql`, port });
}

/**
 * Runs `scripts/start.ts` (what `pnpm start` runs) as a real process with `env` over the test's
 * environment. Returns at once; wait on its banner or its exit.
 */
export function startControlPlane({ env = {} }: { env?: ChildEnv } = {}): RunningProcess {
  return runNode('start', ['--import', 'tsx', 'scripts/start.ts'], env);
}

/**
 * Runs the alert bot (`examples/alert-bot`) as a real process with `args`; it prints one JSON line
 * per alert event on stdout (unless `--forward-to`) and logs to stderr with an `alert-bot:` prefix.
 */
export function startAlertBot(args: string[], env: ChildEnv = {}): RunningProcess {
  return runNode('alert-bot', ['--import', 'tsx', 'examples/alert-bot/src/main.ts', ...args], env);
}
