// Schedules against real API and worker processes: exactly one task per tick across processes,
// through a killed scheduler leader; overlap policies; typed errors; the REST routes.
// (Missed ticks after a downtime are tested with an injected clock in scheduler.redis.test.ts.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleEventsSubscription } from '../../packages/client/src/index';
import { unwrap } from '../../packages/client/src/index';
import type { RunningProcess } from '../helpers';
import { ADMIN_TOKEN, type Stack, startStack, takeUntil, testLabel } from './api-fixture';

type ScheduleEvent = ScheduleEventsSubscription['schedules'];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('schedules', { apis: 2, workers: 2 });
});
afterAll(() => stack?.stop());

const product = (query = '') => ({
  type: 'single_product',
  params: { url: `${stack.catalogue.url}/products/p1${query}` },
  labels: [testLabel()],
});

const allTasks = async (scheduleId: string) =>
  (await stack.admin.tasks({ filter: { scheduleId }, first: 500 })).nodes;

/**
 * Schedule events (all schedules) from a live subscription, until `done` holds. `start` runs once
 * the subscription is known to be live: a marker schedule is updated until its event arrives.
 */
async function eventsUntil(
  start: () => Promise<unknown>,
  done: (events: ScheduleEvent[]) => boolean,
  timeoutMs = 40_000,
  client = stack.admin,
): Promise<ScheduleEvent[]> {
  const feed = client.watchSchedules();
  const iterator: AsyncIterator<ScheduleEvent> = {
    next: async () => {
      const result = await feed.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: result.value.schedules };
    },
  };
  try {
    const marker = unwrap(
      await stack.admin.createSchedule({
        name: `marker-${randomUUID()}`,
        task: { type: 'full_sync' },
        cron: '0 3 * * *',
        paused: true,
      }),
      'Schedule',
    );
    let live = false;
    const seen = takeUntil(iterator, (e) => e.scheduleId === marker.id).then(() => {
      live = true;
    });
    for (let i = 0; !live; i++) {
      await stack.admin.updateSchedule(marker.id, { jitterMs: i });
      await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 250))]);
    }
    await start();
    return await takeUntil(iterator, (_e, taken) => done(taken), timeoutMs);
  } finally {
    feed.close();
  }
}

interface RestBody {
  schedule: { id: string };
  schedules: { name: string }[];
  error: { code: string; fields?: { path: string }[] };
}

describe('schedules', () => {
  it('refuses bad input with typed errors naming the field, and stores nothing', async () => {
    const base = { name: 'bad', task: product() };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, cron: '61 * * * *' }, 'cron'],
      [{ ...base, cron: '0 * * * *', timezone: 'Atlantis/Capital' }, 'timezone'],
      [{ ...base, intervalMs: 0 }, 'intervalMs'],
      [
        { ...base, intervalMs: 5000, task: { type: 'single_product', params: { url: 'ftp://x' } } },
        'task.params.url',
      ],
    ];
    for (const [input, path] of cases) {
      const result = await stack.admin.createSchedule(input as never);
      expect(result.__typename).toBe('ValidationError');
      expect(result.__typename === 'ValidationError' && result.fields.map((f) => f.path)).toContain(path);
    }
    const page = unwrap(await stack.admin.schedules({ filter: { name: 'bad' } }), 'ScheduleConnection');
    expect(page.nodes).toHaveLength(0);
  });

  it('serves GET/POST /api/schedules and DELETE /api/schedules/:id', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${stack.apis[1]!.url}/api/${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: (await response.json()) as RestBody };
    };
    const created = await call('POST', 'schedules', {
      name: 'rest-nightly',
      task: { type: 'full_sync' },
      cron: '0 3 * * *',
      timezone: 'Asia/Shanghai',
      paused: true,
    });
    expect(created.status).toBe(201);
    expect(
      (await call('POST', 'schedules', { name: 'x', task: { type: 'full_sync' }, cron: 'nope' })).body.error,
    ).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'cron' }] });
    const listed = await call('GET', 'schedules');
    expect(listed.body.schedules.map((s: { name: string }) => s.name)).toContain('rest-nightly');
    const deleted = await call('DELETE', `schedules/${created.body.schedule.id}`);
    expect(deleted.status).toBe(200);
    expect((await call('DELETE', `schedules/${created.body.schedule.id}`)).status).toBe(404);
  });

  it('overlap SKIP runs a 3 s task one at a time and pushes each skipped tick; CANCEL_PREVIOUS cancels', async () => {
    let skipId = '';
    let cancelId = '';
    const events = await eventsUntil(
      async () => {
        const skip = unwrap(
          await stack.admin.createSchedule({
            name: 'slow-skip',
            task: product('?latency=3000'),
            intervalMs: 1000,
          }),
          'Schedule',
        );
        const cancel = unwrap(
          await stack.admin.createSchedule({
            name: 'slow-cancel',
            task: product('?latency=3000'),
            intervalMs: 1000,
            overlap: 'CANCEL_PREVIOUS',
          }),
          'Schedule',
        );
        skipId = skip.id;
        cancelId = cancel.id;
      },
      (taken) => {
        const of = (id: string, kind: string) => taken.filter((e) => e.scheduleId === id && e.kind === kind);
        return (
          of(skipId, 'FIRED').length >= 2 &&
          of(skipId, 'SKIPPED').length >= 3 &&
          of(cancelId, 'FIRED').length >= 3
        );
      },
    );
    await stack.admin.pauseSchedule(skipId);
    await stack.admin.pauseSchedule(cancelId);
    const skipped = events.filter((e) => e.scheduleId === skipId && e.kind === 'SKIPPED');
    for (const e of skipped) expect(e.outcome?.reason).toMatch(/^overlap: task \S+ is (pending|running)/);
    // Recorded on the schedule too.
    const detail = await stack.admin.schedule(skipId);
    expect(detail?.ticks.filter((t) => t.kind === 'SKIPPED').length).toBeGreaterThanOrEqual(3);
    // One at a time: each fired task was submitted only after the one before had finished.
    const fired = events
      .filter((e) => e.scheduleId === skipId && e.kind === 'FIRED')
      .map((e) => e.outcome!.taskId!);
    const tasks = await allTasks(skipId);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const first = byId.get(fired[0]!)!;
    const second = byId.get(fired[1]!)!;
    expect(first.finishedAt).not.toBeNull();
    expect(Date.parse(second.createdAt)).toBeGreaterThanOrEqual(Date.parse(first.finishedAt!));
    // CANCEL_PREVIOUS: the earlier tasks were cancelled when the next tick came.
    const cancelTasks = await allTasks(cancelId);
    expect(cancelTasks.filter((t) => t.status === 'CANCELLED').length).toBeGreaterThanOrEqual(2);
  });

  it('creates one task per tick for 20 s across 2 APIs and 2 workers, through a killed scheduler leader', async () => {
    const leader = () =>
      [...stack.apis, ...stack.workers].find((p) =>
        p.lines.some((l) => /scheduler: this process now leads/.test(l)),
      );
    let scheduleId = '';
    let killed: RunningProcess | undefined;
    let restarted: Promise<unknown> | undefined;
    // The process that fires is the one to kill; the subscription goes through an API that lives.
    const firing = await (async () => {
      for (;;) {
        const found = leader();
        if (found) return found;
        await Promise.race(
          [...stack.apis, ...stack.workers].map((p) =>
            p.waitForLine(/scheduler: this process now leads/, 10_000),
          ),
        );
      }
    })();
    const watcher = stack.client(ADMIN_TOKEN, firing === stack.apis[0] ? stack.apis[1] : stack.apis[0]);
    const events = await eventsUntil(
      async () => {
        const created = unwrap(
          await stack.admin.createSchedule({
            name: 'every-second',
            task: product(),
            intervalMs: 1000,
            overlap: 'ALLOW',
          }),
          'Schedule',
        );
        scheduleId = created.id;
      },
      (taken) => {
        const fired = taken.filter((e) => e.scheduleId === scheduleId && e.kind === 'FIRED').length;
        if (fired === 6 && !killed) {
          killed = firing;
          const isApi = (stack.apis as RunningProcess[]).includes(firing);
          restarted = firing.kill().then(() => (isApi ? stack.startApi() : stack.startWorker()));
        }
        return fired >= 20;
      },
      45_000,
      watcher,
    );
    expect(killed).toBe(firing);
    await restarted;
    const paused = unwrap(await stack.admin.pauseSchedule(scheduleId), 'Schedule');
    expect(paused.paused).toBe(true);
    const tasks = await allTasks(scheduleId);
    const ticks = tasks.map((t) => Number(t.idempotencyKey!.split(':')[2])).sort((a, b) => a - b);
    // One task per tick, none twice, none lost: consecutive ticks a second apart.
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.length).toBeGreaterThanOrEqual(20);
    expect(ticks.length).toBeLessThanOrEqual(21);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    expect(events.filter((e) => e.scheduleId === scheduleId && e.kind === 'SKIPPED')).toHaveLength(0);
    expect(tasks.every((t) => t.scheduleId === scheduleId)).toBe(true);
  });
});
