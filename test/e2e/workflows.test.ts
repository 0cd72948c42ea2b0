import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../packages/client/src/index';
import { TEST_TYPES_CONFIG, type TestEngine, testEngine } from '../helpers/engine';
import { type RunningProcess, startApp } from '../helpers/processes';
import { uniquePrefix } from '../helpers/redis';
import { ADMIN_TOKEN, type Stack, startStack, takeUntil } from './api-fixture';

const BIN = fileURLToPath(new URL('../../apps/cli/bin/taskplane.js', import.meta.url));

// Workflows and dependencies with real API and worker processes: a diamond across two queues run
// in order and watched as deltas, the failure policies, a cycle refused, and a worker killed
// between "the last dependency succeeded in BullMQ" and "its success was recorded".

describe('workflows through the API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('workflows', { config: TEST_TYPES_CONFIG });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const diamond = (
    b: { type: string; params: Record<string, unknown> },
    policy?: 'CANCEL' | 'RUN_ANYWAY',
  ) => [
    { key: 'A', task: { type: 'noop', params: { n: 1 } } },
    { key: 'B', task: b, dependsOn: ['A'] },
    { key: 'C', task: { type: 'sleep', params: { ms: 50 } }, dependsOn: ['A'] },
    {
      key: 'D',
      task: { type: 'noop', params: { n: 4 }, ...(policy ? { onDependencyFailure: policy } : {}) },
      dependsOn: ['B', 'C'],
    },
  ];

  it('runs a diamond in order and the subscription shows each node change once', async () => {
    const submitted = unwrap(
      await stack.admin.submitWorkflow('diamond', diamond({ type: 'sleep', params: { ms: 300 } })),
      'Workflow',
    );
    expect(submitted).toMatchObject({ name: 'diamond', size: 4 });
    const events = await takeUntil(
      stack.admin.watchWorkflow(submitted.id, '0'),
      (e) => e.workflow.key === 'D' && e.workflow.kind === 'SUCCEEDED',
      20_000,
    );
    const changes = events.map((e) => e.workflow).filter((e) => e.kind !== 'LOG');
    // Once each: no cursor repeats, and per node the moves of its life in order.
    expect(new Set(changes.map((e) => e.cursor)).size).toBe(changes.length);
    const of = (key: string) => changes.filter((e) => e.key === key).map((e) => e.kind);
    expect(of('A')).toEqual(['SUBMITTED', 'STARTED', 'SUCCEEDED']);
    for (const key of ['B', 'C', 'D'])
      expect(of(key)).toEqual(['SUBMITTED', 'READY', 'STARTED', 'SUCCEEDED']);
    const at = (key: string, kind: string) => changes.findIndex((e) => e.key === key && e.kind === kind);
    expect(at('D', 'READY')).toBeGreaterThan(at('B', 'SUCCEEDED'));
    expect(at('D', 'READY')).toBeGreaterThan(at('C', 'SUCCEEDED'));
    expect(at('B', 'READY')).toBeGreaterThan(at('A', 'SUCCEEDED'));
    expect(changes.at(-1)!.workflow?.status).toBe('SUCCEEDED');
    const wf = (await stack.admin.workflow(submitted.id))!;
    expect(wf.status).toBe('SUCCEEDED');
    expect(wf.edges).toEqual([
      { from: 'A', to: 'B' },
      { from: 'A', to: 'C' },
      { from: 'B', to: 'D' },
      { from: 'C', to: 'D' },
    ]);
    const [, b, c, d] = wf.nodes.map((n) => n.task!);
    expect(new Date(d!.startedAt!).getTime()).toBeGreaterThanOrEqual(
      Math.max(new Date(b!.finishedAt!).getTime(), new Date(c!.finishedAt!).getTime()),
    );
  });

  it('a failed B cancels D with CANCEL, and D runs with RUN_ANYWAY', async () => {
    const statuses = async (policy: 'CANCEL' | 'RUN_ANYWAY') => {
      const wf = unwrap(
        await stack.admin.submitWorkflow(`fail-${policy}`, diamond({ type: 'fail', params: {} }, policy)),
        'Workflow',
      );
      await takeUntil(
        stack.admin.watchWorkflow(wf.id, '0'),
        (e) => ['FAILED', 'SUCCEEDED', 'CANCELLED'].includes(e.workflow.workflow?.status ?? ''),
        20_000,
      );
      const done = (await stack.admin.workflow(wf.id))!;
      return { workflow: done.status, nodes: done.nodes.map((n) => n.task!.status) };
    };
    expect(await statuses('CANCEL')).toEqual({
      workflow: 'FAILED',
      nodes: ['SUCCESS', 'DEAD_LETTERED', 'SUCCESS', 'CANCELLED'],
    });
    expect(await statuses('RUN_ANYWAY')).toEqual({
      workflow: 'FAILED',
      nodes: ['SUCCESS', 'DEAD_LETTERED', 'SUCCESS', 'SUCCESS'],
    });
    const listed = await stack.admin.workflows({ filter: { status: ['FAILED'] } });
    expect(
      unwrap(listed, 'WorkflowConnection')
        .nodes.map((w) => w.name)
        .sort(),
    ).toEqual(['fail-CANCEL', 'fail-RUN_ANYWAY']);
  });

  it('rejects a cycle naming its nodes, and adds nothing', async () => {
    const result = await stack.admin.submitWorkflow('loop', [
      { key: 'a', task: { type: 'noop', params: {} }, dependsOn: ['c'] },
      { key: 'b', task: { type: 'noop', params: {} }, dependsOn: ['a'] },
      { key: 'c', task: { type: 'noop', params: {} }, dependsOn: ['b'] },
    ]);
    expect(result).toMatchObject({
      __typename: 'ValidationError',
      fields: [{ path: 'nodes.0.dependsOn', message: 'cycle: a -> b -> c -> a' }],
    });
    const listed = unwrap(await stack.admin.workflows({ filter: { name: 'loop' } }), 'WorkflowConnection');
    expect(listed.nodes).toEqual([]);
  });
});

describe('taskplane workflow', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    stack = await startStack('cli-workflows', { config: TEST_TYPES_CONFIG });
    dir = await mkdtemp(join(tmpdir(), 'tptest-wf-'));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

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

  it('submits a YAML file, watches it to the end and shows it', async () => {
    const file = join(dir, 'diamond.yaml');
    await writeFile(
      file,
      [
        'name: nightly-sync',
        'nodes:',
        '  - key: fetch',
        '    task: { type: noop, params: { n: 1 } }',
        '  - key: left',
        '    task: { type: sleep, params: { ms: 1000 } }',
        '    dependsOn: [fetch]',
        '  - key: right',
        '    task: { type: noop, params: { n: 3 }, labels: { shop: demo } }',
        '    dependsOn: [fetch]',
        '  - key: report',
        '    task: { type: noop, params: { n: 4 }, onDependencyFailure: run_anyway }',
        '    dependsOn: [left, right]',
      ].join('\n'),
    );
    const submitted = await taskplane('workflow', 'submit', file, '--json');
    expect(submitted.stderr).toBe('');
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const watched = await taskplane('workflow', 'watch', id);
    expect(watched.code).toBe(0);
    // Live changes up to the last node's success, or (when it was done first) the finished state.
    expect(watched.stdout).toMatch(/(report {2}SUCCEEDED {2}SUCCESS|SUCCEEDED: .*report=SUCCESS.*)\n$/);
    const got = await taskplane('workflow', 'get', id);
    expect(got.stdout).toMatch(/status: +SUCCEEDED/);
    expect(got.stdout).toMatch(/report +t\w+ +noop +SUCCESS +left,right/);
    expect((await taskplane('workflow', 'ls', '--status', 'succeeded')).stdout).toMatch(/nightly-sync/);
  });

  it('names the cycle of a bad JSON file and exits 1', async () => {
    const file = join(dir, 'loop.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'loop',
        nodes: [
          { key: 'x', task: { type: 'noop', params: {} }, dependsOn: ['y'] },
          { key: 'y', task: { type: 'noop', params: {} }, dependsOn: ['x'] },
        ],
      }),
    );
    const result = await taskplane('workflow', 'submit', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cycle: x -> y -> x/);
  });
});

describe('a worker killed between a dependency finishing and its record', () => {
  let t: TestEngine;
  let prefix: string;
  const workers: RunningProcess[] = [];
  beforeAll(() => {
    prefix = uniquePrefix('wfcrash');
    t = testEngine(prefix);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 5000)));
  });
  afterAll(async () => {
    await t.close();
  });

  async function worker(): Promise<RunningProcess> {
    const w = await startApp('worker', { prefix, configOverrides: TEST_TYPES_CONFIG });
    workers.push(w);
    await w.waitForLine(/worker ready/, 20_000);
    return w;
  }

  it('leaves nothing blocked: the next process records the success and releases the dependent', async () => {
    const { engine } = t;
    const { task: a } = await engine.submit({ type: 'noop', params: { n: 1 } });
    const { task: b } = await engine.submit({ type: 'noop', params: { n: 2 }, dependsOn: [a.id] });
    expect(b.status).toBe('blocked');
    // Hold the projector lease, as a leader that is about to die would: the worker runs A but
    // records nothing of it.
    await engine.redis.set(engine.keys.projectorLease, 'dying-leader', 'PX', 60_000);
    const first = await worker();
    const bull = engine.queue('bulk');
    await expect.poll(() => bull.getJobState(a.id), { timeout: 20_000 }).toBe('completed');
    await first.kill();
    // The worst moment: BullMQ has A completed; Taskplane has not recorded it; B is parked.
    expect((await engine.store.getOrThrow(a.id)).status).not.toBe('success');
    expect(await engine.store.getOrThrow(b.id)).toMatchObject({ status: 'blocked' });
    expect(await bull.getJobState(b.id)).toBe('delayed');
    // The dead leader's lease runs out; a new worker takes over from BullMQ's own log.
    await engine.redis.del(engine.keys.projectorLease);
    await worker();
    await expect
      .poll(async () => (await engine.store.getOrThrow(b.id)).status, { timeout: 20_000 })
      .toBe('success');
    const kinds = (await t.events()).filter((e) => e.taskId === b.id).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'ready', 'started', 'succeeded']);
  });
});
