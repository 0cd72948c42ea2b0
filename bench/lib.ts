import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestApi } from '@taskplane/api/testing';
import {
  createLogger,
  createRedis,
  Keys,
  loadConfig,
  type SpawnedRedis,
  spawnRedisServer,
  TaskTypeRegistry,
} from '@taskplane/core';
import { type JobData, newTaskId, TaskEngine, WorkerHost } from '@taskplane/queue';
import { type JobsOptions, Queue, Worker } from 'bullmq';
import { type Client, createClient } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ApiProcess, RunningProcess } from '../test/helpers/processes';

/** Each benchmark gets its own redis-server, so its numbers and command counts are its own. */
export async function benchRedis(): Promise<SpawnedRedis> {
  return await spawnRedisServer({
    dir: mkdtempSync(join(tmpdir(), 'tp-bench-')),
    settings: { appendonly: 'no' },
  });
}

/**
 * The real API in this process, on a free port, on the bench's private Redis. The harness reads
 * REDIS_URL when its module loads, hence the late import.
 */
export async function benchApi(redisUrl: string, overrides: Record<string, unknown> = {}): Promise<TestApi> {
  process.env.REDIS_URL = redisUrl;
  const { startTestApi } = await import('@taskplane/api/testing');
  return await startTestApi(overrides);
}

/** The API's counter or gauge value now (`api.metrics.subscriptions`, `api.metrics.executions`). */
export async function metricValue(metric: {
  get(): Promise<{ values: { value: number }[] }>;
}): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

/**
 * A task on the API's engine, and a writer of events about it by the engine's own path: the
 * append-log script writes the record, the event log entry and the live message in one call.
 */
export async function taskEventWriter(
  api: TestApi,
): Promise<{ taskId: string; write(n: number): Promise<number> }> {
  const { engine } = api.services;
  const { keys } = api.runtime;
  const { task } = await engine.submit({ type: 'single_product', params: { url: 'http://127.0.0.1:9/p' } });
  return {
    taskId: task.id,
    write: (n) =>
      engine.redis.tpAppendLog(
        keys.events,
        keys.taskLog(task.id),
        `${keys.prefix}:task:`,
        `${keys.prefix}:idx:`,
        engine.config.events.stream_max_len,
        task.id,
        Date.now(),
        100,
        `line ${n}`,
      ),
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export interface Row {
  metric: string;
  ours: number;
  raw: number;
  unit: string;
}

/** Print side-by-side rows: ours, the raw part, ours relative to it, and the difference. */
export function report(title: string, rows: Row[], rawLabel = 'raw'): void {
  console.log(`\n${title}`);
  console.log(
    `${'metric'.padEnd(36)}${'taskplane'.padStart(15)}${rawLabel.padStart(15)}${'ratio'.padStart(9)}${'diff'.padStart(14)}`,
  );
  for (const row of rows) {
    const cell = (n: number) => `${fmt(n)} ${row.unit}`.padStart(15);
    const diff = row.ours - row.raw;
    console.log(
      `${row.metric.padEnd(36)}${cell(row.ours)}${cell(row.raw)}${`${fmt(row.ours / row.raw)}x`.padStart(9)}${`${diff >= 0 ? '+' : ''}${fmt(diff)} ${row.unit}`.padStart(14)}`,
    );
  }
}

/** p50/p95/p99 rows (in ms) of two latency samples. */
export function latencyRows(label: string, ours: number[], raw: number[], ps = [50, 95, 99]): Row[] {
  return ps.map((p) => ({
    metric: `${label} p${p}`,
    ours: percentile(ours, p),
    raw: percentile(raw, p),
    unit: 'ms',
  }));
}

/** Poll `done` every `everyMs` until it holds; throws after `timeoutMs` so no bench spins forever. */
export async function waitUntil(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 5,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise with its resolve function outside, for "resolve when the last one arrives". */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Runs a bare BullMQ Worker with a no-op processor until `jobs` jobs of `queue` have completed. */
export async function drainBare(
  queue: string,
  jobs: number,
  options: { connection: Redis; prefix: string; concurrency: number },
): Promise<void> {
  let done = 0;
  const finished = deferred();
  const worker = new Worker(queue, async () => ({ ok: true }), options);
  worker.on('error', () => {});
  worker.on('completed', () => {
    if (++done === jobs) finished.resolve();
  });
  await finished.promise;
  await worker.close();
}

// ---- BullMQ and the worker host, shared by worker.ts and redis-cost.ts ----

const BULK = 1000;

/**
 * Add `jobs` no-op jobs (`noop`, data `{ n }` counting from `first`) to `queue`, 1,000 per `addBulk`,
 * each with `opts()` (BullMQ's defaults unless given).
 */
export async function addNoopJobs(
  queue: Queue,
  jobs: number,
  opts: () => JobsOptions = () => ({}),
  first = 0,
): Promise<void> {
  for (let i = 0; i < jobs; i += BULK)
    await queue.addBulk(
      Array.from({ length: Math.min(BULK, jobs - i) }, (_, n) => ({
        name: 'noop',
        data: { n: first + i + n },
        opts: opts(),
      })),
    );
}

/** Add `jobs` no-op jobs to a bare BullMQ queue, in bulk. */
export async function addBareJobs(url: string, queueName: string, jobs: number): Promise<void> {
  const connection = createRedis({ url, role: 'worker' });
  const queue = new Queue(queueName, { connection, prefix: 'raw' });
  await addNoopJobs(queue, jobs);
  await queue.close();
  connection.disconnect();
}

/**
 * The job options `engine` gives a no-op task of queue `bench` (`TaskEngine.jobOptions`: priority,
 * attempts, backoff, removeOnComplete/removeOnFail), for the raw side, so both sides ask BullMQ for
 * the same work. A fresh job id each call.
 */
export function engineJobOptions(engine: TaskEngine): () => JobsOptions {
  const { config } = engine;
  const data: JobData = {
    params: {},
    labels: {},
    priority: config.queues.bench!.priority,
    order: config.queues.bench!.order,
    maxAttempts: config.retry.max_retries + 1,
    timeoutMs: config.workers.task_timeout,
    backoff: { baseDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.2 },
  };
  return () => engine.jobOptions(newTaskId(), data, 0, 0);
}

/** A TaskEngine on `url` with one queue `bench` and a `noop` task type, as a worker would have. */
export function noopEngine(url: string, concurrency: number, prefix = 'tp') {
  const config = loadConfig({
    overrides: {
      redis: { prefix },
      queues: {
        bench: { concurrency, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
      },
      workers: { max_count: Math.max(20, concurrency) },
    },
  });
  const registry = new TaskTypeRegistry([
    { name: 'noop', description: '', queue: 'bench', params: z.object({ n: z.number() }) },
  ]);
  const redis = createRedis({ url, role: 'worker' });
  const logger = createLogger('bench', 'warn');
  const keys = new Keys(prefix);
  const engine = new TaskEngine({ config, registry, keys, redis, logger });
  return {
    engine,
    redis,
    keys,
    async submit(n: number) {
      for (let i = 0; i < n; i += BULK) {
        await engine.submitMany(
          Array.from({ length: Math.min(BULK, n - i) }, (_, j) => ({ type: 'noop', params: { n: i + j } })),
        );
      }
    },
    /** Run a WorkerHost with a no-op handler until `n` successes are recorded (records and events included). */
    async drain(n: number) {
      const host = new WorkerHost({
        engine,
        handlers: { noop: async () => ({ ok: true }) },
        queues: ['bench'],
        redisUrl: url,
        logger,
        catalogueBaseUrl: '',
      });
      await host.start();
      await waitUntil(
        'every task to succeed',
        async () => (await redis.zcard(keys.indexStatus('success'))) >= n,
        120_000,
        10,
      );
      await host.stop();
    },
    async close() {
      await engine.close();
      redis.disconnect();
    },
  };
}

// ---- real API and worker processes, and what the bench reads from outside them ----

/** The bench's admin token (`auth.bootstrap_token`), so the load generator needs no log scraping. */
export const BENCH_TOKEN = 'tp_bench_bootstrap_admin_token_0123456789';

/**
 * What every bench process gets: one `bench` queue at concurrency 50 and a `bench_noop` task type
 * whose handler (bench/handlers.ts) says when it finished.
 */
export const BENCH_CONFIG = {
  queues: {
    bench: { concurrency: 50, order: 'fifo', priority: 5, rate_limit: null, global_concurrency: null },
  },
  task_types: {
    bench_noop: { queue: 'bench', params: { type: 'object', properties: { n: { type: 'integer' } } } },
  },
  workers: { queues: ['bench'], handler_modules: ['./bench/handlers.ts'], max_count: 50 },
};

/** A redis-server of the bench's own with AOF on (`appendfsync everysec`), as a deployment runs it. */
export async function benchRedisAof(): Promise<SpawnedRedis> {
  return await spawnRedisServer({
    dir: mkdtempSync(join(tmpdir(), 'tp-bench-')),
    settings: { appendonly: 'yes', appendfsync: 'everysec' },
  });
}

export interface BenchStack {
  api: ApiProcess;
  worker: RunningProcess | null;
  graphqlUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/**
 * The real API (and a worker unless `worker: false`) as child processes, started the way the e2e
 * tests start them (`node --import tsx apps/<name>/src/main.ts`), on `redisUrl` with prefix `tp`.
 */
export async function startStack(
  redisUrl: string,
  options: { worker?: boolean; env?: Record<string, string> } = {},
): Promise<BenchStack> {
  const { startApp } = await import('../test/helpers/processes');
  const common = {
    prefix: 'tp',
    redisUrl,
    configOverrides: BENCH_CONFIG,
    env: { TASKPLANE_AUTH__BOOTSTRAP_TOKEN: BENCH_TOKEN, TASKPLANE_LOG_LEVEL: 'warn', ...options.env },
  };
  const [api, worker] = await Promise.all([
    startApp('api', common),
    // The worker says it is ready at level info.
    options.worker === false
      ? null
      : startApp('worker', { ...common, env: { ...common.env, TASKPLANE_LOG_LEVEL: 'info' } }),
  ]);
  if (worker) await worker.waitForLine(/worker ready/);
  return {
    api,
    worker,
    graphqlUrl: api.graphqlUrl,
    wsUrl: api.graphqlUrl.replace(/^http/, 'ws'),
    async stop() {
      await Promise.all([api.stop(), worker?.stop()]);
    },
  };
}

/** POST one GraphQL operation with the bench token; throws on errors so a failing bench is loud. */
export async function graphql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (!body.data || body.errors) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const SUBMIT_TASKS = `mutation ($inputs: [SubmitTaskInput!]!) {
  submitTasks(inputs: $inputs) { ... on SubmitTasksPayload { accepted rejected } ... on Error { code message } }
}`;

/** Submit `count` bench_noop tasks in one `submitTasks` call; returns how many were accepted. */
export async function submitNoops(graphqlUrl: string, count: number, first = 0): Promise<number> {
  const inputs = Array.from({ length: count }, (_, i) => ({ type: 'bench_noop', params: { n: first + i } }));
  const data = await graphql<{ submitTasks: { accepted?: number; message?: string } }>(
    graphqlUrl,
    SUBMIT_TASKS,
    {
      inputs,
    },
  );
  if (data.submitTasks.accepted !== count)
    throw new Error(`submitTasks: ${JSON.stringify(data.submitTasks)}`);
  return count;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux; clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces, start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/** Resident set size of a process, in KB (`VmRSS`). */
export function processRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/** Redis server CPU (user + sys, main and background threads) so far, in ms, from `INFO cpu`. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const cpu = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  return (user + sys) * 1000;
}

/** Commands Redis ran so far, including those run inside scripts (Redis 7 counts both). */
export async function redisCommands(redis: Redis): Promise<{ calls: number; scriptCalls: number }> {
  const stats = await redis.info('commandstats');
  let calls = 0;
  let scriptCalls = 0;
  for (const match of stats.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    const n = Number(match[2]);
    calls += n;
    if (['evalsha', 'eval', 'fcall'].includes(match[1]!)) scriptCalls += n;
  }
  return { calls, scriptCalls };
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
}

/**
 * Run `ours` and `raw` alternately: one warm-up pair whose results are dropped, then `runs` pairs,
 * the side that goes first swapping each time so neither always gets the warmer machine.
 */
export async function alternate<T>(
  runs: number,
  ours: (run: number) => Promise<T>,
  raw: (run: number) => Promise<T>,
): Promise<{ ours: T[]; raw: T[] }> {
  const out = { ours: [] as T[], raw: [] as T[] };
  for (let run = -1; run < runs; run++) {
    const order = run % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
    for (const side of order) {
      const value = await (side === 'ours' ? ours(run) : raw(run));
      if (run >= 0) out[side].push(value);
    }
    if (run >= 0) console.log(`  run ${run + 1}/${runs} done`);
  }
  return out;
}

/** `--name value` from argv, or `fallback`. */
export function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Runs per side (after one warm-up run); `--runs N` or BENCH_RUNS. */
export const RUNS = arg('runs', Number(process.env.BENCH_RUNS ?? 3));

/** `ws`, loaded at run time: the bench package has no type declarations for it, so these are its few parts used here. */
export interface WsSocket {
  readyState: number;
  send(data: string | Buffer, cb?: (error?: Error) => void): void;
  close(): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
export interface WsModule {
  WebSocket: (new (url: string, protocols?: string | string[]) => WsSocket) & { OPEN: number };
  WebSocketServer: new (options: {
    port?: number;
    host?: string;
    server?: unknown;
    path?: string;
  }) => {
    clients: Set<WsSocket>;
    on(event: 'connection', listener: (socket: WsSocket) => void): void;
    on(event: 'listening', listener: () => void): void;
    address(): { port: number };
    close(cb?: () => void): void;
  };
}
export const ws = createRequire(import.meta.url)('ws') as WsModule;

export interface BenchChild {
  pid: number;
  lines: string[];
  /** The first line (seen or to come) matching `pattern`; rejects if the child exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM to the PID, SIGKILL after 5 s; resolves on exit. */
  stop(): Promise<void>;
}

/**
 * `node --import tsx bench/<file>` as a child of this process, with `env` over ours. Its stdin is a
 * pipe: when the bench dies, the pipe closes and the child ends itself, so no server outlives a run.
 */
export function spawnBenchChild(
  file: string,
  env: Record<string, string> = {},
  args: string[] = [],
): BenchChild {
  const guard = `data:text/javascript,${encodeURIComponent(
    "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')).resume().unref();",
  )}`;
  const child = spawn(
    process.execPath,
    ['--import', guard, '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args],
    { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const input of [child.stdout, child.stderr])
    createInterface({ input }).on('line', (line) => {
      lines.push(line);
      for (const listener of listeners) listener(line);
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    lines,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          listeners.delete(onLine);
        };
        const onLine = (line: string) => {
          const match = pattern.exec(line);
          if (match) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${file}: no line matching ${pattern}\n${lines.slice(-30).join('\n')}`));
        }, timeoutMs);
        for (const line of lines) onLine(line);
        listeners.add(onLine);
        void exited.then(() => {
          done();
          reject(new Error(`${file} exited before ${pattern}\n${lines.slice(-30).join('\n')}`));
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes on one host. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A graphql-ws client of a bench stack's API with the bench token. */
export function wsClient(wsUrl: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: ws.WebSocket,
    connectionParams: { authorization: `Bearer ${BENCH_TOKEN}` },
    retryAttempts: 0,
    lazy: false,
  });
}

/** `taskEvents` of kind SUCCEEDED with the task's result: what a dashboard waiting on results selects. */
export const SUCCEEDED_DOCUMENT =
  'subscription { taskEvents(kinds: [SUCCEEDED]) { cursor task { result } } }';

/** Handler-finish time carried in a SUCCEEDED event's `task.result` (bench/handlers.ts). */
export function finishedAt(value: { data?: unknown }): number {
  const data = value.data as { taskEvents?: { task?: { result?: { at?: number } } } } | undefined;
  return data?.taskEvents?.task?.result?.at ?? Number.NaN;
}

/** The channel the raw fan-out servers (bench/fanout-server.ts) relay to their sockets. */
export const FANOUT_CHANNEL = 'bench:fanout';
