/**
 * One event to many sockets. `--sockets` (default 5,000) sockets, one subscription each, held by
 * `--clients` client processes (bench/fanout-clients.ts; default 2), against three servers in turn:
 *
 * - Taskplane: the real API and worker processes; each subscription is
 *   `taskEvents(kinds: [SUCCEEDED]) { cursor task { result } }`; one no-op task is submitted and the
 *   time runs from the moment its handler finished (its result says when) to the last socket's
 *   receipt.
 * - bare `ws`: a server that relays a Redis channel to every socket (bench/fanout-server.ts ws);
 * - plain graphql-ws: `useServer` with a trivial `tick { at }` subscription fed by the same channel.
 *   For these two the time runs from the PUBLISH to the last receipt.
 *
 * Events go one at a time; a run is `--events` events (default 5) and reports the p50 of their
 * last-receipt times. The servers are measured one after another (5,000 sockets each are too many
 * to hold three times over), so this figure is not alternated. RSS per idle subscription is the
 * server process's RSS with every socket subscribed (after the warm-up events) minus its RSS before
 * the first connection, divided by the sockets; each sample is taken after a full garbage
 * collection in the server (bench/gc-on-signal.mjs, preloaded into all three alike).
 *
 *   node --import tsx bench/fanout.ts [--sockets 5000] [--clients 2] [--events 5] [--runs 3]
 *     [--only taskplane,ws,graphql-ws] [--profile DIR]
 *
 * `--only` measures some of the servers (and prints their figures without emitting the table's);
 * `--profile DIR` writes a CPU profile of the API (and worker) processes into DIR (bench/fanout-profile.mjs) and writes one heap snapshot there
 * after the warm-up (every socket subscribed and idle), for looking at where the fan-out goes.
 */
import { createRedis } from '@taskplane/core';
import { emit } from './figure';
import {
  arg,
  type BenchChild,
  benchRedis,
  FANOUT_CHANNEL,
  fmt,
  percentile,
  processCpuMs,
  processRssKb,
  RUNS,
  SUCCEEDED_DOCUMENT,
  spawnBenchChild,
  startStack,
  submitNoops,
  wallNow,
} from './lib';

const sockets = arg('sockets', 5000);
const clientProcesses = arg('clients', 2);
const events = arg('events', 5);
const stringArg = (name: string): string | null => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? null) : null;
};
const only = stringArg('only')?.split(',') ?? null;
const profileDir = stringArg('profile');
const server = await benchRedis();
const publisher = createRedis({ url: server.url, role: 'worker' });

interface System {
  url: string;
  pid: number;
  protocol: 'ws' | 'graphql-ws';
  document: string;
  /** Called once every socket is subscribed and the warm-up is over. */
  afterWarmUp?(): Promise<void>;
  trigger(): Promise<void>;
  stop(): Promise<void>;
}

interface Outcome {
  /** p50 of last-receipt times per run, ms. */
  lastP50: number[];
  firstRunLast: number[];
  rssPerSocketKb: number;
  /** Server process CPU (utime + stime) over the measured events ÷ events, ms: steadier than wall time on a shared machine. */
  cpuPerEventMs: number;
}

/** The next `all <at> <last>` line of each client, in order; a cursor per client. */
function reader(children: BenchChild[]) {
  const seen = children.map((c) => c.lines.length);
  return async function next(timeoutMs: number): Promise<number | null> {
    const deadline = performance.now() + timeoutMs;
    const results: { at: number; last: number }[] = [];
    for (const [i, child] of children.entries()) {
      for (;;) {
        const line = child.lines[seen[i]!];
        if (line !== undefined) {
          seen[i]!++;
          const match = /^all (\S+) (\S+)/.exec(line);
          if (match) {
            results.push({ at: Number(match[1]), last: Number(match[2]) });
            break;
          }
          continue;
        }
        if (performance.now() > deadline) return null;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    return Math.max(...results.map((r) => r.last)) - results[0]!.at;
  };
}

async function measure(name: string, system: System): Promise<Outcome> {
  await new Promise((r) => setTimeout(r, 500));
  await collect(system.pid);
  const rssBefore = processRssKb(system.pid);
  const per = Math.ceil(sockets / clientProcesses);
  const started = performance.now();
  const children = Array.from({ length: clientProcesses }, (_, i) =>
    spawnBenchChild('./fanout-clients.ts', {}, [
      system.url,
      system.protocol,
      String(Math.min(per, sockets - i * per)),
      system.document,
    ]),
  );
  try {
    await Promise.all(children.map((c) => c.waitForLine(/^ready$/, 180_000)));
    console.log(
      `  ${name}: ${fmt(sockets, 0)} sockets open in ${fmt((performance.now() - started) / 1000, 1)} s`,
    );
    const next = reader(children);
    // Warm-up: until one event reaches every socket (so every subscription is live), then two more.
    let warm = 0;
    for (let attempt = 0; warm < 3; attempt++) {
      if (attempt > 30) throw new Error(`${name}: no event reached all ${sockets} sockets`);
      await system.trigger();
      if ((await next(5000)) !== null) warm++;
    }
    await collect(system.pid);
    const rssAfter = processRssKb(system.pid);
    await system.afterWarmUp?.();
    const cpuBefore = processCpuMs(system.pid);
    const lastP50: number[] = [];
    let firstRunLast: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const lasts: number[] = [];
      for (let e = 0; e < events; e++) {
        await system.trigger();
        const last = await next(30_000);
        if (last === null) throw new Error(`${name}: an event did not reach every socket within 30 s`);
        lasts.push(last);
      }
      if (run === 0) firstRunLast = lasts;
      lastP50.push(percentile(lasts, 50));
    }
    const cpuPerEventMs = (processCpuMs(system.pid) - cpuBefore) / (RUNS * events);
    return { lastP50, firstRunLast, rssPerSocketKb: (rssAfter - rssBefore) / sockets, cpuPerEventMs };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await system.stop();
  }
}

/** Every server process gets it: RSS is sampled after a full collection (`collect`). */
const GC_ON_SIGNAL = `--expose-gc --import=${new URL('./gc-on-signal.mjs', import.meta.url).pathname}`;

/** A full garbage collection in the server (bench/gc-on-signal.mjs), then a moment to settle. */
async function collect(pid: number): Promise<void> {
  process.kill(pid, 'SIGURG');
  await new Promise((r) => setTimeout(r, 500));
}

async function rawSystem(kind: 'ws' | 'graphql-ws'): Promise<System> {
  const child = spawnBenchChild('./fanout-server.ts', { REDIS_URL: server.url, NODE_OPTIONS: GC_ON_SIGNAL }, [
    kind,
  ]);
  const port = (await child.waitForLine(/listening (\d+)/))[1];
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    pid: child.pid,
    protocol: kind,
    document: 'subscription { tick { at } }',
    trigger: async () => {
      await publisher.publish(FANOUT_CHANNEL, JSON.stringify({ at: wallNow() }));
    },
    stop: () => child.stop(),
  };
}

async function taskplane(): Promise<System> {
  const env: Record<string, string> = profileDir
    ? {
        NODE_OPTIONS: `${GC_ON_SIGNAL} --import=${new URL('./fanout-profile.mjs', import.meta.url).pathname} --diagnostic-dir=${profileDir} --heapsnapshot-signal=SIGUSR2`,
        BENCH_PROFILE_DIR: profileDir,
      }
    : { NODE_OPTIONS: GC_ON_SIGNAL };
  const stack = await startStack(server.url, { env });
  return {
    url: stack.wsUrl,
    pid: stack.api.pid,
    protocol: 'graphql-ws',
    document: SUCCEEDED_DOCUMENT,
    trigger: async () => {
      await submitNoops(stack.graphqlUrl, 1);
    },
    stop: () => stack.stop(),
    afterWarmUp: profileDir
      ? async () => {
          const { readdirSync } = await import('node:fs');
          const snapshots = () => readdirSync(profileDir).filter((f) => f.endsWith('.heapsnapshot')).length;
          const before = snapshots();
          process.kill(stack.api.pid, 'SIGUSR2');
          for (let i = 0; i < 600 && snapshots() === before; i++)
            await new Promise((r) => setTimeout(r, 100));
          // The file appears when writing starts; give the writer time to finish before timing again.
          await new Promise((r) => setTimeout(r, 5000));
        }
      : undefined,
  };
}

const wanted = (name: string) => only === null || only.includes(name);
try {
  if (only !== null) {
    for (const name of ['ws', 'graphql-ws', 'taskplane'].filter(wanted)) {
      const outcome = await measure(
        name,
        name === 'taskplane' ? await taskplane() : await rawSystem(name as 'ws' | 'graphql-ws'),
      );
      console.log(
        `  ${name}: last receipt p50 per run ${outcome.lastP50.map((n) => fmt(n, 1)).join(', ')} ms (first run ${outcome.firstRunLast.map((n) => fmt(n, 0)).join(', ')}); RSS per socket ${fmt(outcome.rssPerSocketKb, 2)} KB; server CPU per event ${fmt(outcome.cpuPerEventMs, 1)} ms`,
      );
    }
  } else {
    const bare = await measure('bare ws', await rawSystem('ws'));
    const plain = await measure('plain graphql-ws', await rawSystem('graphql-ws'));
    const ours = await measure('taskplane', await taskplane());
    console.log(
      `  last receipt, first run's events (ms): taskplane ${ours.firstRunLast.map((n) => fmt(n, 0)).join(', ')}; ws ${bare.firstRunLast.map((n) => fmt(n, 0)).join(', ')}; graphql-ws ${plain.firstRunLast.map((n) => fmt(n, 0)).join(', ')}`,
    );
    console.log(
      `  server CPU per event (ms): taskplane API ${fmt(ours.cpuPerEventMs, 1)}; ws ${fmt(bare.cpuPerEventMs, 1)}; graphql-ws ${fmt(plain.cpuPerEventMs, 1)}`,
    );
    const note = `${fmt(sockets, 0)} sockets over ${clientProcesses} client processes, ${events} events per run, servers measured one after another`;
    emit([
      {
        order: 9,
        figure: `one event to ${fmt(sockets, 0)} graphql-ws sockets, handler finish to last receipt, p50`,
        unit: 'ms',
        ours: ours.lastP50,
        raw: bare.lastP50,
        rawLabel: 'bare `ws` broadcast',
        goal: { kind: 'ratio<=', value: 1.5 },
        rawAside: { label: 'plain graphql-ws', unit: 'ms', values: plain.lastP50 },
        note,
      },
      {
        order: 10,
        figure: `RSS per idle subscription, ${fmt(sockets, 0)} sockets`,
        unit: 'KB',
        ours: [ours.rssPerSocketKb],
        raw: [bare.rssPerSocketKb],
        rawLabel: 'bare `ws`',
        goal: { kind: 'ratio<=', value: 2 },
        rawAside: { label: 'plain graphql-ws', unit: 'KB', values: [plain.rssPerSocketKb] },
        note: 'one sample per server, each after a full GC in it: (RSS with every socket subscribed − RSS before) ÷ sockets',
      },
    ]);
  }
} finally {
  publisher.disconnect();
  await server.stop();
}
