import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse, positionals, stringOption, UsageError } from './args';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `taskplane worker start [--queues a,b]`: runs apps/worker's main as a child with the queues set
 * through the environment and exits with its code.
 *
 * The child runs in its own process group: a terminal's Ctrl-C reaches every process of the
 * foreground group, so the worker used to get SIGINT twice (from the terminal, then forwarded by
 * this process) and the second one killed it mid-drain. Now only this process hears the terminal;
 * it asks the worker to stop once, and a second Ctrl-C kills it, after saying so.
 */
export async function workerCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parse(argv, { queues: { type: 'string' } });
  const [action] = positionals(parsed, ['start']);
  if (action !== 'start') throw new UsageError(`worker takes start, got "${action}"`);
  const queues = stringOption(parsed, 'queues')
    ?.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    stdio: 'inherit',
    detached: true,
    env: { ...env, ...(queues?.length ? { TASKPLANE_WORKERS__QUEUES: JSON.stringify(queues) } : {}) },
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
