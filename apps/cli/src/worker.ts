import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse, positionals, stringOption, UsageError } from './args';

const WORKER_MAIN = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `taskplane worker start [--queues a,b]`: runs apps/worker's main as a child with the queues set
 * through the environment, forwards signals so it shuts down gracefully, and exits with its code.
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
    env: { ...env, ...(queues?.length ? { TASKPLANE_WORKERS__QUEUES: JSON.stringify(queues) } : {}) },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
