// The operator's commands (stats, clean, logs, tail, submit --wait/--bulk/--order) as an operator
// runs them: the real binary against a real API, worker and Redis.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  product,
  type Stack,
  startStack,
  submit,
  testLabel,
  waitForStatus,
} from './api-fixture';
import { runCli, spawnCli } from './cli-binary';

let stack: Stack;
let dir: string;
beforeAll(async () => {
  stack = await startStack('cli-ops', { config: { monitoring: { stats_interval: '500ms' } } });
  dir = mkdtempSync(join(tmpdir(), 'tptest-cli-ops-'));
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ TASKPLANE_URL: stack.apis[0]!.graphqlUrl, TASKPLANE_TOKEN: ADMIN_TOKEN });
const taskplane = (...args: string[]) => runCli(env(), args);

describe('taskplane stats', () => {
  it('prints counts and rates per queue, picks queues by type, and --watch refreshes until Ctrl-C', async () => {
    const label = testLabel();
    await waitForStatus(stack.admin, (await submit(stack.admin, product(stack.catalogue, label))).id);

    const json = await taskplane('stats', '--queue', 'products', '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const rows = JSON.parse(json.stdout) as { name: string; throughputPerMinute: number; counts: object }[];
    expect(rows.map((r) => r.name)).toEqual(['products']);
    expect(rows[0]!.counts).toHaveProperty('pending');

    const human = await taskplane('stats', '--type', 'single_product');
    expect(human.stdout.split('\n')[0]).toMatch(/^QUEUE\s+PENDING\s+RUNNING.*PER MIN\s+FAILURE\s+AVG RUN/);
    expect(human.stdout).toMatch(/^products\s+\d+/m);
    expect((await taskplane('stats', '--type', 'no_such_type')).code).toBe(2);

    const live = spawnCli(env(), ['stats', '--watch', '--queue', 'products']);
    await expect
      .poll(() => live.stdout().match(/^QUEUE/gm)?.length ?? 0, { timeout: 20_000, interval: 100 })
      .toBeGreaterThanOrEqual(2);
    live.child.kill('SIGINT');
    expect(await live.exited).toBe(0);
  }, 60_000);
});

describe('taskplane clean', () => {
  it('previews with --dry-run, then deletes finished tasks with progress', async () => {
    const label = testLabel();
    const tasks = await Promise.all(
      [1, 2, 3].map(() => submit(stack.admin, product(stack.catalogue, label))),
    );
    await Promise.all(tasks.map((t) => waitForStatus(stack.admin, t.id)));

    const preview = await taskplane('clean', '--queue', 'products', '--dry-run', '--json');
    expect(preview.code).toBe(0);
    const [row] = JSON.parse(preview.stdout) as { queue: string; status: string; count: number }[];
    expect(row).toMatchObject({ queue: 'products', status: 'SUCCESS' });
    expect(row!.count).toBeGreaterThanOrEqual(3);
    expect((await stack.admin.task(tasks[0]!.id))?.status).toBe('SUCCESS');

    const cleaned = await taskplane('clean', '--queue', 'products', '--status', 'success');
    expect(cleaned.code).toBe(0);
    expect(cleaned.stderr).toMatch(/^cleaning: (\d+)\/\1$/m);
    expect(cleaned.stdout).toMatch(/^products\s+SUCCESS\s+\S+\s+DONE\s+\d+/m);
    expect(cleaned.stdout).toMatch(/deleted \d+ task\(s\)/);
    for (const task of tasks) expect(await stack.admin.task(task.id)).toBeNull();

    expect((await taskplane('clean', '--status', 'running')).code).toBe(2);
    expect((await taskplane('clean', '--finished-before', 'soon')).code).toBe(2);
  }, 60_000);
});

describe('taskplane logs and tail', () => {
  it('logs -f prints each log line once while the task runs and exits with its outcome', async () => {
    const label = testLabel();
    const task = await submit(stack.admin, product(stack.catalogue, label, 'p1?latency=1500'));
    const follow = spawnCli(env(), ['logs', task.id, '-f']);
    expect(await follow.exited).toBe(0);
    const lines = follow.stdout().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ {2}fetching \/products\/p1$/);
    expect(lines[1]).toMatch(/ {2}stored product p1 /);

    const json = await taskplane('logs', task.id, '--json');
    expect(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { line: string }).line),
    ).toEqual(['fetching /products/p1', expect.stringMatching(/^stored product p1 /)]);
    expect((await taskplane('logs', 'no-such-task')).code).toBe(1);
  }, 30_000);

  it('tail shows live events with their log text, progress and error', async () => {
    const label = testLabel();
    const after = await stack.admin.eventCursor();
    const live = spawnCli(env(), ['tail', '--label', `${label.key}=${label.value}`, '--after', after]);
    const ok = await submit(stack.admin, product(stack.catalogue, label));
    const missing = await submit(stack.admin, product(stack.catalogue, label, 'no-such-product'));
    await expect
      .poll(live.stdout, { timeout: 20_000, interval: 100 })
      .toMatch(new RegExp(`LOG  ${ok.id}  single_product  RUNNING  stored product p1 `));
    await expect
      .poll(live.stdout, { timeout: 20_000, interval: 100 })
      .toMatch(new RegExp(`PROGRESS  ${ok.id} .* 100%`));
    await expect
      .poll(live.stdout, { timeout: 20_000, interval: 100 })
      .toMatch(new RegExp(`${missing.id} .*NOT_FOUND`));
    live.child.kill('SIGINT');
    expect(await live.exited).toBe(0);
  }, 30_000);
});

describe('taskplane submit', () => {
  it('--wait exits 0 when the task succeeds and 1 with its error when it fails', async () => {
    const label = testLabel();
    const url = (id: string) => JSON.stringify({ url: `${stack.catalogue.url}/products/${id}` });
    const ok = await taskplane(
      'submit',
      'single_product',
      '--params',
      url('p1'),
      '--label',
      `${label.key}=${label.value}`,
      '--wait',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/status:\s+SUCCESS/);
    expect(ok.stderr).toMatch(/^SUCCESS 100%$/m);

    const failed = await taskplane(
      'submit',
      'single_product',
      '--params',
      url('no-such-product'),
      '--wait',
      '--json',
    );
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as { status: string }).status).toMatch(/DEAD_LETTERED|FAILED/);
    expect(failed.stderr).toMatch(/^error NOT_FOUND: .*404/m);
  }, 30_000);

  it('--order lifo submits a LIFO task', async () => {
    const submitted = await taskplane(
      'submit',
      'single_product',
      '--params',
      JSON.stringify({ url: `${stack.catalogue.url}/products/p2` }),
      '--order',
      'lifo',
      '--delay',
      '600000',
      '--json',
    );
    expect(submitted.code).toBe(0);
    expect((JSON.parse(submitted.stdout) as { task: { order: string } }).task.order).toBe('LIFO');
    expect((await taskplane('submit', 'single_product', '--order', 'random')).code).toBe(2);
  });

  it('--bulk submits 10,000 lines with progress and reports the bad lines by number', async () => {
    const label = testLabel();
    const good = (n: number) =>
      JSON.stringify({
        type: 'single_product',
        params: { url: `${stack.catalogue.url}/products/p${(n % 20) + 1}` },
        labels: [label],
        delayMs: 3_600_000,
      });
    const bad = new Map<number, string>([
      [5, '{not json'],
      [777, JSON.stringify({ type: 'single_product', params: { url: 'nope' }, labels: [label] })],
      [4242, JSON.stringify({ type: 'single_product', params: {}, priority: 'high', labels: [label] })],
      [9000, JSON.stringify({ type: 'no_such_type', params: {}, labels: [label] })],
    ]);
    const lines = Array.from({ length: 10_000 }, (_, i) => bad.get(i + 1) ?? good(i + 1));
    const file = join(dir, 'tasks.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const result = await taskplane('submit', '--bulk', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^submitting: 0\/9999$/m);
    expect(result.stderr).toMatch(/^submitting: 5000\/9999$/m);
    expect(result.stderr).toMatch(/^submitting: 9999\/9999$/m);
    const reported = result.stdout.split('\n').filter((l) => l.startsWith('line '));
    expect(reported.map((l) => Number(/^line (\d+):/.exec(l)![1]))).toEqual([5, 777, 4242, 9000]);
    expect(reported[1]).toContain('params.url');
    expect(result.stdout).toMatch(/submitted 9996 task\(s\); 4 line\(s\) rejected/);
    const listed = await stack.admin.tasks({ filter: { labels: [label] }, first: 1 });
    expect(listed.totalCount).toBe(9996);
  }, 120_000);
});

describe('taskplane configuration and help', () => {
  it('reads the URL and token from a profile under XDG_CONFIG_HOME; flags and env win', async () => {
    const home = join(dir, 'xdg');
    mkdirSync(join(home, 'taskplane'), { recursive: true });
    writeFileSync(
      join(home, 'taskplane', 'config.yaml'),
      `profile: e2e\nprofiles:\n  e2e: { url: ${stack.apis[0]!.graphqlUrl}, token: ${ADMIN_TOKEN} }\n  broken: { url: 'http://127.0.0.1:9/graphql' }\n`,
    );
    const clean = { TASKPLANE_URL: '', TASKPLANE_TOKEN: '', XDG_CONFIG_HOME: home };
    const viaProfile = await runCli(clean, ['queues', '--json']);
    expect(viaProfile.code).toBe(0);
    expect((JSON.parse(viaProfile.stdout) as { name: string }[]).map((q) => q.name)).toContain('products');
    expect((await runCli(clean, ['queues', '--profile', 'broken'])).stderr).toMatch(/cannot reach/);
    const flagWins = ['queues', '--profile', 'broken', '--url', stack.apis[0]!.graphqlUrl];
    expect((await runCli(clean, [...flagWins, '--token', ADMIN_TOKEN])).code).toBe(0);
    const envWins = { ...clean, TASKPLANE_URL: stack.apis[0]!.graphqlUrl, TASKPLANE_TOKEN: ADMIN_TOKEN };
    expect((await runCli(envWins, ['queues', '--profile', 'broken'])).code).toBe(0);
    const unknown = await runCli(clean, ['queues', '--profile', 'nope']);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain(`no profile "nope" in ${join(home, 'taskplane', 'config.yaml')}`);
  });

  it('worker start --concurrency N runs a worker with that concurrency on its queues', async () => {
    const worker = spawnCli(
      { TASKPLANE_PREFIX: stack.prefix, TASKPLANE_CATALOGUE__BASE_URL: stack.catalogue.url },
      ['worker', 'start', '--queues', 'search,shops', '--concurrency', '3'],
    );
    type Listed = { pid: number; queues: string[]; concurrency: { queue: string; concurrency: number }[] }[];
    const mine = async () =>
      (JSON.parse((await taskplane('workers', '--json')).stdout) as Listed).find(
        (w) => w.queues.join(',') === 'search,shops',
      );
    try {
      await expect.poll(mine, { timeout: 30_000, interval: 250 }).toBeDefined();
      expect((await mine())!.concurrency).toEqual([
        { queue: 'search', concurrency: 3 },
        { queue: 'shops', concurrency: 3 },
      ]);
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
    const bad = await runCli({}, ['worker', 'start', '--queues', 'nope', '--concurrency', '2']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('"nope", which is not a configured queue');
  }, 60_000);

  it('--help on every command shows its usage and examples; piped output has no colour', async () => {
    for (const command of [
      'health',
      'stats',
      'clean',
      'logs',
      'tail',
      'submit',
      'worker',
      'get',
      'list',
      'dlq',
      'schedules',
    ]) {
      const help = await taskplane(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: taskplane ${command}`));
      expect(help.stdout).toContain('Examples:');
    }
    expect((await taskplane('queues')).stdout).not.toContain('\x1b[');
  });
});
