// Every subscription of schema.graphql through @taskplane/client, across API processes, dropped
// connections and a killed API process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabelInput, TaskEvent, TaskplaneClient } from '../../packages/client/src/index';
import { type ApiProcess, tcpProxy } from '../helpers';
import {
  ADMIN_TOKEN,
  product,
  type Stack,
  startStack,
  submit,
  takeUntil,
  testLabel,
  waitForStatus,
} from './api-fixture';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('api-subscriptions', {
    apis: 2,
    config: { monitoring: { stats_interval: '1s' } },
  });
});
afterAll(() => stack?.stop());

const succeeded = (taskId: string) => (e: TaskEvent) => e.taskId === taskId && e.kind === 'SUCCEEDED';

/** Every event the log keeps for `label`, read from the start (`after: "0"`) up to `last`'s success. */
async function fullLog(client: TaskplaneClient, label: LabelInput, lastTaskId: string): Promise<TaskEvent[]> {
  const all = client.watchTaskEvents({ after: '0', filter: { labels: [label] } });
  try {
    return await takeUntil(all, succeeded(lastTaskId));
  } finally {
    all.close();
  }
}

const cursors = (events: TaskEvent[]) => events.map((e) => e.cursor);

describe('taskEvents', () => {
  it('a subscriber on API process B receives the events of a task submitted through process A', async () => {
    const label = testLabel();
    const onB = stack.client(ADMIN_TOKEN, stack.apis[1]);
    const events = onB.watchTaskEvents({ after: '0', filter: { labels: [label] } });
    await onB.health(); // B is up; the subscription is sent on its socket before the task exists
    const task = await submit(stack.admin, product(stack.catalogue, label));
    const seen = await takeUntil(events, succeeded(task.id));
    events.close();
    expect(seen.map((e) => e.kind)).toEqual(expect.arrayContaining(['SUBMITTED', 'STARTED', 'SUCCEEDED']));
    expect(seen.every((e) => e.taskId === task.id && e.labels.some((l) => l.value === label.value))).toBe(
      true,
    );
    expect(seen.at(-1)).toMatchObject({ status: 'SUCCESS', type: 'single_product', queue: 'products' });
    // Cursors only grow.
    expect([...cursors(seen)].sort((a, b) => compareCursor(a, b))).toEqual(cursors(seen));
  });

  it('kinds and filters narrow the events', async () => {
    const label = testLabel();
    const events = stack.admin.watchTaskEvents({
      after: '0',
      filter: { labels: [label] },
      kinds: ['SUCCEEDED'],
    });
    const task = await submit(stack.admin, product(stack.catalogue, label));
    const [only] = await takeUntil(events, () => true);
    events.close();
    expect(only).toMatchObject({ taskId: task.id, kind: 'SUCCEEDED' });
  });

  it('a client that disconnects and resumes from its last cursor gets exactly the events it missed', async () => {
    const label = testLabel();
    const first = stack.client().watchTaskEvents({ after: '0', filter: { labels: [label] } });
    const task1 = await submit(stack.admin, product(stack.catalogue, label, 'p1'));
    const before = await takeUntil(first, succeeded(task1.id));
    first.close();
    const lastCursor = first.lastCursor!;
    expect(lastCursor).toBe(before.at(-1)!.cursor);

    // While nobody listens, another task runs from start to end.
    const task2 = await submit(stack.admin, product(stack.catalogue, label, 'p2'));
    await waitForStatus(stack.admin, task2.id);

    const resumed = stack
      .client(ADMIN_TOKEN, stack.apis[1])
      .watchTaskEvents({ filter: { labels: [label] }, after: lastCursor });
    const missed = await takeUntil(resumed, succeeded(task2.id));
    resumed.close();
    expect(missed.every((e) => e.taskId === task2.id)).toBe(true);
    expect(cursors([...before, ...missed])).toEqual(cursors(await fullLog(stack.admin, label, task2.id)));
  });

  it('an API process killed with SIGKILL and restarted loses no event for a client that resumes', async () => {
    const label = testLabel();
    // The client talks to a stable address (as behind a load balancer) that leads to whichever
    // API process is current: the restarted one listens on another port.
    let doomed = await stack.startApi();
    const proxy = await tcpProxy(() => doomed.port);
    try {
      const watcher = stack
        .client(ADMIN_TOKEN, { graphqlUrl: `${proxy.url}/graphql` } as ApiProcess)
        .watchTaskEvents({
          after: '0',
          filter: { labels: [label] },
        });
      const task1 = await submit(stack.admin, product(stack.catalogue, label, 'p1'));
      const seen = await takeUntil(watcher, succeeded(task1.id));

      await doomed.kill();
      const task2 = await submit(stack.admin, product(stack.catalogue, label, 'p2'));
      const task3 = await submit(stack.admin, product(stack.catalogue, label, 'p3'));
      await waitForStatus(stack.admin, task2.id);
      await waitForStatus(stack.admin, task3.id);
      doomed = await stack.startApi();
      // The client reconnects by itself and re-subscribes after the last cursor it saw.
      const done = new Set<string>();
      seen.push(
        ...(await takeUntil(watcher, (e) => {
          if (e.kind === 'SUCCEEDED') done.add(e.taskId);
          return done.has(task2.id) && done.has(task3.id);
        })),
      );
      watcher.close();

      const log = await fullLog(stack.admin, label, seen.at(-1)!.taskId);
      expect(cursors(seen)).toEqual(cursors(log));
      expect(new Set(cursors(seen)).size).toBe(seen.length);
    } finally {
      await proxy.close();
    }
  });
});

describe('other subscriptions', () => {
  it('task sends the task now, then on every change until it finishes', async () => {
    const task = await submit(stack.admin, product(stack.catalogue, testLabel(), 'p1', { delayMs: 600_000 }));
    const updates = stack.admin.watchTask(task.id);
    const [now] = await takeUntil(updates, () => true);
    expect(now!.task).toMatchObject({ id: task.id, status: 'DELAYED' });
    await stack.admin.cancelTask(task.id);
    const [changed] = await takeUntil(updates, (u) => u.task.status === 'CANCELLED');
    updates.close();
    expect(changed!.task.finishedAt).not.toBeNull();
  });

  it('queueStats pushes counts and rates of the named queues', async () => {
    const stats = stack.admin.watchQueueStats(['products']);
    const [first] = await takeUntil(stats, () => true);
    stats.close();
    expect(first!.queueStats).toHaveLength(1);
    expect(first!.queueStats[0]).toMatchObject({ name: 'products', paused: false });
    expect(first!.queueStats[0]!.counts).toHaveProperty('pending');
    expect(first!.queueStats[0]!.failureRate).toBeGreaterThanOrEqual(0);
  });

  it('workers announces a worker coming online and going offline', async () => {
    const changes = stack.admin.watchWorkers();
    await stack.admin.health();
    const worker = await stack.startWorker();
    await takeUntil(changes, (c) => c.workers.kind === 'ONLINE' && c.workers.worker.pid === worker.pid);
    await worker.stop();
    const [offline] = (
      await takeUntil(changes, (c) => c.workers.kind === 'OFFLINE' && c.workers.worker.pid === worker.pid)
    ).slice(-1);
    changes.close();
    expect(offline!.workers.worker.queues).toEqual(expect.arrayContaining(['products']));
  });
});

function compareCursor(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am! === bm! ? Number(as! - bs!) : am! < bm! ? -1 : 1;
}
