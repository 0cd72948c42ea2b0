// Ctrl-C on `taskplane worker start` as a terminal sends it: SIGINT to the whole foreground
// process group, which held both the CLI and its worker child.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { sharedRedisUrl, TEST_TYPES_CONFIG, type TestEngine, testEngine, uniquePrefix } from '../helpers';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CONFIG = {
  ...TEST_TYPES_CONFIG,
  workers: { ...TEST_TYPES_CONFIG.workers, shutdown_timeout: '20s', lock_duration: '30s' },
};

interface Cli {
  child: ChildProcess;
  lines: string[];
  waitForLine(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

/** `taskplane worker start` in a process group of its own, as a shell runs a foreground job. */
function workerStart(prefix: string): Cli {
  const dir = mkdtempSync(path.join(tmpdir(), 'tptest-cli-worker-'));
  const file = path.join(dir, 'taskplane.yaml');
  writeFileSync(file, JSON.stringify(CONFIG));
  const child = spawn(process.execPath, ['apps/cli/bin/taskplane.js', 'worker', 'start'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, REDIS_URL: sharedRedisUrl(), TASKPLANE_PREFIX: prefix, TASKPLANE_CONFIG: file },
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const input of [child.stdout!, child.stderr!]) {
    createInterface({ input }).on('line', (line) => {
      lines.push(line);
      for (const waiter of waiters) waiter();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    return exited;
  });
  onTestFailed(() => console.log(`--- output of taskplane worker start ---\n${lines.join('\n')}`));
  const waitForLine = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (lines.some((line) => pattern.test(line))) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
      void exited.then(() => reject(new Error(`exited before a line matched ${pattern}`)));
    });
  return { child, lines, waitForLine, exited };
}

async function runningTask(prefix: string, ms: number): Promise<{ engine: TestEngine; id: string }> {
  const engine = testEngine(prefix, CONFIG);
  cleanups.push(() => engine.close());
  const { task } = await engine.engine.submit({ type: 'sleep', params: { ms } });
  await engine.waitFor(async () => (await engine.engine.store.get(task.id))?.status === 'running', 30_000);
  return { engine, id: task.id };
}

describe('taskplane worker start and Ctrl-C', () => {
  it('drains once: the running task finishes and the worker exits 0', async () => {
    const prefix = uniquePrefix('cli-worker-ctrl-c');
    const cli = workerStart(prefix);
    await cli.waitForLine(/worker ready/);
    const { engine, id } = await runningTask(prefix, 3000);

    process.kill(-cli.child.pid!, 'SIGINT');

    expect(await cli.exited).toBe(0);
    expect(await engine.engine.store.get(id)).toMatchObject({ status: 'success', attemptsMade: 1 });
    expect(cli.lines.join('\n')).toMatch(/Ctrl-C again to force/);
  });

  it('a second Ctrl-C forces, after saying so', async () => {
    const prefix = uniquePrefix('cli-worker-ctrl-c-twice');
    const cli = workerStart(prefix);
    await cli.waitForLine(/worker ready/);
    await runningTask(prefix, 60_000);

    process.kill(-cli.child.pid!, 'SIGINT');
    await cli.waitForLine(/Ctrl-C again to force/);
    process.kill(-cli.child.pid!, 'SIGINT');

    await cli.waitForLine(/forcing: killing the worker/);
    expect(await cli.exited).not.toBe(0);
  });
});
