// The `taskplane` command as an operator runs it: a real process against a real API.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Stack, startStack, testLabel, waitForStatus } from './api-fixture';

const BIN = fileURLToPath(new URL('../../apps/cli/bin/taskplane.js', import.meta.url));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('cli');
});
afterAll(() => stack?.stop());

/** Runs `taskplane <args>` with the API's URL and the admin token in its environment. */
function taskplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, TASKPLANE_URL: stack.apis[0]!.graphqlUrl, TASKPLANE_TOKEN: ADMIN_TOKEN } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('taskplane', () => {
  it('submit, get, list --json and cancel a task', async () => {
    const label = testLabel();
    const url = `${stack.catalogue.url}/products/p1`;
    const submitted = await taskplane(
      'submit',
      'single_product',
      '--params',
      JSON.stringify({ url }),
      '--label',
      `${label.key}=${label.value}`,
      '--priority',
      '8',
      '--group',
      'shop-cli',
      '--json',
    );
    expect(submitted).toMatchObject({ code: 0, stderr: '' });
    const { task } = JSON.parse(submitted.stdout) as { task: { id: string; priority: number } };
    expect(task.priority).toBe(8);
    await waitForStatus(stack.admin, task.id);

    const shown = await taskplane('get', task.id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`id:\\s+${task.id}`));
    expect(shown.stdout).toMatch(/status:\s+SUCCESS/);
    expect(shown.stdout).toMatch(/group:\s+shop-cli/);

    const listed = await taskplane('list', '--label', `${label.key}=${label.value}`, '--json');
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { totalCount: number; nodes: { id: string }[] };
    expect(page).toMatchObject({ totalCount: 1, nodes: [{ id: task.id }] });
    expect(
      (await taskplane('list', '--status', 'success', '--label', `${label.key}=${label.value}`)).stdout,
    ).toContain(task.id);

    const waiting = await taskplane(
      'submit',
      'single_product',
      '--params',
      JSON.stringify({ url }),
      '--delay',
      '600000',
      '--json',
    );
    const waitingId = (JSON.parse(waiting.stdout) as { task: { id: string } }).task.id;
    const cancelled = await taskplane('cancel', waitingId);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(/status:\s+CANCELLED/);
    expect((await stack.admin.task(waitingId))!.status).toBe('CANCELLED');
  });

  it('exits 2 on a usage error and 1 with the code when the operation fails', async () => {
    const usage = await taskplane('submit', 'single_product', '--params', '{not json');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--params is not valid JSON/);
    expect((await taskplane('frobnicate')).code).toBe(2);
    expect((await taskplane('get')).code).toBe(2);

    const invalid = await taskplane('submit', 'single_product', '--params', '{"url":"nope"}');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error VALIDATION: /);
    expect(invalid.stderr).toContain('params.url');
    const missing = await taskplane('get', 'no-such-task');
    expect(missing).toMatchObject({ code: 1, stderr: 'error NOT_FOUND: no task with id no-such-task\n' });
  });

  it('queues, workers and pause/resume print tables an operator can read', async () => {
    const queues = await taskplane('queues');
    expect(queues.stdout.split('\n')[0]).toMatch(/^QUEUE\s+PAUSED\s+CONCURRENCY/);
    expect(queues.stdout).toMatch(/^products\s+false\s+5/m);
    expect((await taskplane('workers')).stdout).toContain(String(stack.workers[0]!.pid));
    expect((await taskplane('pause', 'sync')).stdout).toBe('sync: concurrency 1, paused\n');
    expect((await taskplane('resume', 'sync')).stdout).toBe('sync: concurrency 1\n');
  });

  it('worker start runs a worker on the named queues, which the fleet lists until it is stopped', async () => {
    const worker = spawn(process.execPath, [BIN, 'worker', 'start', '--queues', 'search,shops'], {
      env: {
        ...process.env,
        TASKPLANE_PREFIX: stack.prefix,
        TASKPLANE_CATALOGUE__BASE_URL: stack.catalogue.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    const listed = async () => {
      const workers = await taskplane('workers', '--json');
      return (JSON.parse(workers.stdout) as { pid: number; queues: string[] }[]).map((w) =>
        w.queues.join(','),
      );
    };
    try {
      await expect.poll(listed, { timeout: 30_000, interval: 250 }).toContain('search,shops');
    } finally {
      worker.kill('SIGTERM');
    }
    // SIGTERM reaches the worker through the command; it leaves the fleet and the command exits 0.
    expect(await exited).toBe(0);
    expect(await listed()).not.toContain('search,shops');
  });
});
