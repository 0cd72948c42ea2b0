import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@taskplane/core';
import { intOption, parse, positionals, stringOption, UsageError } from './args';
import { COMMAND_TABLE } from './command-table';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `--concurrency N` as configuration overrides (`TASKPLANE_QUEUES__<Q>__CONCURRENCY`) for each queue
 * the worker consumes, so the worker's own loader validates it (against workers.max_count) and
 * names the variable when it is wrong. Like the configured value, it yields to a concurrency set at
 * run time with `taskplane concurrency`, which every worker follows.
 */
function concurrencyEnv(
  env: NodeJS.ProcessEnv,
  queues: string[] | undefined,
  concurrency: number | undefined,
) {
  if (concurrency === undefined) return {};
  if (concurrency < 1) throw new UsageError(`--concurrency must be at least 1, got ${concurrency}`);
  const config = loadConfig({ env });
  const names = queues?.length
    ? queues
    : config.workers.queues.length
      ? config.workers.queues
      : Object.keys(config.queues);
  for (const name of names)
    if (!config.queues[name])
      throw new UsageError(`--queues names "${name}", which is not a configured queue`);
  return Object.fromEntries(
    names.map((name) => [`TASKPLANE_QUEUES__${name.toUpperCase()}__CONCURRENCY`, String(concurrency)]),
  );
}

/**
 * `taskplane worker start [--queues a,b] [--concurrency N]`: runs apps/worker's main as a child with the queues set
 * through the environment and exits with its code.
 *
 * The child runs in its own process group: a terminal's Ctrl-C reaches every process of the
 * foreground group, so the worker used to get SIGINT twice (from the terminal, then forwarded by
 * this process) and the second one killed it mid-drain. Now only this process hears the terminal;
 * it asks the worker to stop once, and a second Ctrl-C kills it, after saying so.
 */
export async function workerCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parse(argv, COMMAND_TABLE.worker.options);
  const [action] = positionals(parsed, ['start']);
  if (action !== 'start') throw new UsageError(`worker takes start, got "${action}"`);
  const queues = stringOption(parsed, 'queues')
    ?.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const overrides = concurrencyEnv(env, queues, intOption(parsed, 'concurrency'));
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    stdio: 'inherit',
    detached: true,
    env: {
      ...env,
      ...overrides,
      ...(queues?.length ? { TASKPLANE_WORKERS__QUEUES: JSON.stringify(queues) } : {}),
    },
  });
  const say = (line: string) => process.stderr.write(`taskplane: ${line}\n`);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      say(
        'stopping the worker: running tasks finish within workers.shutdown_timeout or are handed back (Ctrl-C again to force)',
      );
      child.kill(signal);
    } else if (signals === 2) {
      say(
        `forcing: killing the worker (pid ${child.pid}); its running tasks run again elsewhere after the stalled check`,
      );
      child.kill('SIGKILL');
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
