// Day one as the README tells it: `pnpm start`, paste the command it prints, see the task succeed;
// with the CLI's TASKPLANE_URL/TASKPLANE_TOKEN exported in the same shell; and Ctrl-C that lets a
// running task finish against the demo catalogue before the catalogue goes away.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEMO_PRODUCT_URL, freePort, type Task } from '@taskplane/core';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { testEngine, uniquePrefix } from '../helpers';
import { type RunningProcess, startControlPlane } from '../helpers/processes';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `command` in a shell from the repository root, as a user pasting it would. */
function shell(
  command: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: ROOT, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

async function startPlane(prefix: string): Promise<RunningProcess> {
  const plane = startControlPlane({
    env: {
      TASKPLANE_PREFIX: prefix,
      TASKPLANE_API__PORT: String(await freePort()),
      TASKPLANE_CONSOLE__PORT: String(await freePort()),
      // What the README tells CLI users to export; a stale pair, so the printed command must set its own.
      TASKPLANE_URL: 'http://127.0.0.1:1/graphql',
      TASKPLANE_TOKEN: 'tp_stale',
    },
  });
  cleanups.push(() => plane.stop('SIGTERM', 60_000));
  onTestFailed(() => console.log(`--- output of scripts/start.ts ---\n${plane.output()}`));
  await plane.waitForLine(/Taskplane is running/, 100_000);
  return plane;
}

describe('getting started', () => {
  it('the README and --help submit the demo catalogue product pnpm start serves', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).not.toMatch(/shop\.example\/products/);
    expect(readme).toContain(`taskplane submit single_product --params '{"url":"${DEMO_PRODUCT_URL}"}'`);
  });

  it('pnpm start, with TASKPLANE_URL and TASKPLANE_TOKEN exported, prints a command that submits a task that succeeds', async () => {
    const prefix = uniquePrefix('getting-started');
    const engine = testEngine(prefix, {});
    cleanups.push(() => engine.close());
    const plane = await startPlane(prefix);

    const tryAt = plane.lines.indexOf('Try it:');
    expect(tryAt).toBeGreaterThan(0);
    const command = plane.lines[tryAt + 1]!.trim();
    expect(command).toMatch(/^TASKPLANE_URL=\S+ TASKPLANE_TOKEN=tp_dev_\S+ pnpm exec taskplane submit /);

    const submitted = await shell(command, {});
    expect(submitted.output).toMatch(/submitted \S+/);
    expect(submitted.code).toBe(0);
    const id = /submitted (\S+)/.exec(submitted.output)![1]!;

    let task: Task | null = null;
    await engine.waitFor(
      async () => {
        task = await engine.engine.store.get(id);
        return task !== null && ['success', 'dead_lettered', 'failed'].includes(task.status);
      },
      60_000,
      `task ${id} to finish`,
    );
    expect(task!.status).toBe('success');
    expect(task!.attemptsMade).toBe(1);
  });

  it('Ctrl-C stops the API and console, then drains the worker, then the catalogue', async () => {
    const prefix = uniquePrefix('start-stop-order');
    const engine = testEngine(prefix, {});
    cleanups.push(() => engine.close());
    const plane = await startPlane(prefix);
    const [, catalogue] = /Catalog: (http:\/\/\S+)/.exec(plane.output())!;

    // A task that is still fetching from the catalogue when Ctrl-C arrives.
    const { task } = await engine.engine.submit({
      type: 'single_product',
      params: { url: `${catalogue}/products/p2?latency=3000` },
    });
    await engine.waitFor(
      async () => (await engine.engine.store.get(task.id))?.status === 'running',
      30_000,
      'the task to run',
    );
    const exit = await plane.stop('SIGINT', 60_000);
    expect(exit.code).toBe(0);

    const finished = await engine.engine.store.get(task.id);
    expect(finished).toMatchObject({ status: 'success', attemptsMade: 1 });
    const order = plane.lines
      .map((line) => /^(\w+)\s*\| (stopping|stopped)$/.exec(line))
      .filter((match) => match !== null)
      .map(([, tag, what]) => `${tag} ${what}`);
    const at = (entry: string) => order.indexOf(entry);
    for (const first of ['api stopped', 'console stopped'])
      expect(at(first)).toBeLessThan(at('worker stopping'));
    expect(at('worker stopped')).toBeLessThan(at('catalog stopping'));
    expect(at('catalog stopped')).toBeGreaterThan(0);
  });
});
