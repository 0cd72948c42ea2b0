import { createLogger, ValidationError } from '@taskplane/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness';
import { ScheduleStore } from './schedule-store';
import { Scheduler } from './scheduler';

// The scheduler's clock is injected: `runDue(now)` handles what is due at `now`, so downtime and
// overlap are simulated by the time passed in, with no waiting.
let h: Harness;
let store: ScheduleStore;
const logger = createLogger('test', 'warn');

beforeEach(async () => {
  h = await createHarness();
  store = ScheduleStore.of(h.engine);
});
afterEach(async () => {
  await h.close();
});

const scheduler = () => new Scheduler({ engine: h.engine, store, logger });
const every = (extra: Record<string, unknown> = {}) => ({
  name: `every-second-${Math.random()}`,
  task: { type: 'work', params: { tag: 'sched' } },
  intervalMs: 1000,
  ...extra,
});
const scheduled = async (id: string) => (await h.engine.store.list({ scheduleId: id }, { first: 500 })).tasks;

describe('the scheduler', () => {
  it('refuses bad input naming the field, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [{ ...every(), intervalMs: null, cron: '61 * * * *' }, 'cron'],
      [{ ...every(), intervalMs: null, cron: '0 * * * *', timezone: 'Nowhere/Land' }, 'timezone'],
      [{ ...every(), intervalMs: 0 }, 'intervalMs'],
      [{ ...every(), task: { type: 'work', params: { sleepMs: 'long' } } }, 'task.params.sleepMs'],
      [{ ...every(), task: { type: 'nope', params: {} } }, 'task.type'],
    ];
    for (const [input, path] of cases) {
      const error = await store.create(input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields.map((f) => f.path)).toContain(path);
    }
    expect(await h.redis.zcard(h.keys.schedules)).toBe(0);
    expect(await h.redis.zcard(h.keys.schedulesDue)).toBe(0);
  });

  it('fires one task per tick however many schedulers race on it', async () => {
    const t0 = Date.now();
    // ALLOW: no worker runs here, so every task stays pending.
    const schedule = await store.create(every({ overlap: 'allow' }), t0);
    const racers = [scheduler(), scheduler(), scheduler()];
    for (let i = 1; i <= 5; i++) {
      await Promise.all(racers.map((s) => s.runDue(t0 + i * 1000)));
    }
    const tasks = await scheduled(schedule.id);
    expect(tasks).toHaveLength(5);
    expect(new Set(tasks.map((t) => t.idempotencyKey)).size).toBe(5);
    expect(tasks.every((t) => t.scheduleId === schedule.id)).toBe(true);
    const ticks = await store.ticks(schedule.id);
    expect(ticks).toHaveLength(5);
    expect((await store.get(schedule.id))?.nextRunAt).toBe(schedule.nextRunAt! + 5000);
  });

  it('after 10 s of downtime, RUN_ONCE fires once and SKIP none', async () => {
    const t0 = Date.now();
    const skip = await store.create(every({ missed: 'skip', overlap: 'allow' }), t0);
    const once = await store.create(every({ missed: 'run_once', overlap: 'allow' }), t0);
    await scheduler().runDue(t0 + 10_500);
    expect(await scheduled(skip.id)).toHaveLength(0);
    expect(await scheduled(once.id)).toHaveLength(1);
    const [skipped] = await store.ticks(skip.id);
    expect(skipped).toMatchObject({ kind: 'skipped', count: 10 });
    expect(skipped?.reason).toMatch(/missed/);
    // Both carry on from the first tick after the downtime.
    expect((await store.get(skip.id))?.nextRunAt).toBe(skip.nextRunAt! + 10_000);
    expect((await store.get(once.id))?.nextRunAt).toBe(once.nextRunAt! + 10_000);
  });

  it('overlap SKIP records the skipped tick; CANCEL_PREVIOUS cancels the unfinished task', async () => {
    const t0 = Date.now();
    const skip = await store.create(every({ overlap: 'skip' }), t0);
    const cancel = await store.create(every({ overlap: 'cancel_previous' }), t0);
    const s = scheduler();
    await s.runDue(t0 + 1000); // no worker: both tasks stay pending
    await s.runDue(t0 + 2000);
    expect(await scheduled(skip.id)).toHaveLength(1);
    const [latest] = await store.ticks(skip.id);
    expect(latest).toMatchObject({ kind: 'skipped', taskId: null });
    expect(latest?.reason).toMatch(/^overlap: task .* is pending/);
    const cancelTasks = await scheduled(cancel.id);
    expect(cancelTasks.map((t) => t.status).sort()).toEqual(['cancelled', 'pending']);
    const events = (await h.redis.xrange(h.keys.schedulesLog, '-', '+')).map(([, f]) => JSON.parse(f[1]!));
    expect(events.filter((e) => e.scheduleId === skip.id).map((e) => e.kind)).toEqual([
      'created',
      'fired',
      'skipped',
    ]);
  });

  it('records a tick whose schedule was paused while it fired, and the schedule stays paused', async () => {
    const t0 = Date.now();
    const schedule = await store.create(every({ overlap: 'allow' }), t0);
    // The pause lands while the tick fires: after the tick's key is claimed, before its job is added.
    let pausing: Promise<unknown> | null = null;
    const engine = await h.otherEngine({
      afterIdempotencyClaim: async () => {
        pausing ??= store.setPaused(schedule.id, true, t0 + 1000);
        await pausing;
      },
    });
    await new Scheduler({ engine, store: ScheduleStore.of(engine), logger }).runDue(t0 + 1000);
    const tasks = await scheduled(schedule.id);
    expect(tasks).toHaveLength(1);
    // The task the tick submitted is in the schedule's history, as every fired tick's is.
    const ticks = await store.ticks(schedule.id);
    expect(ticks).toMatchObject([{ kind: 'fired', tick: schedule.nextRunAt, taskId: tasks[0]!.id }]);
    expect(await store.get(schedule.id)).toMatchObject({
      paused: true,
      nextRunAt: null,
      lastTaskId: tasks[0]!.id,
    });
    expect(await h.redis.zscore(h.keys.schedulesDue, schedule.id)).toBeNull();
    // Another scheduler that fired the same tick (same key, same task) records nothing more.
    const next = schedule.nextRunAt! + 1000;
    expect(await store.recordTick(schedule, schedule.nextRunAt, next, ticks[0]!)).toBe(false);
    expect(await store.ticks(schedule.id)).toHaveLength(1);
  });

  it('pauses, resumes, triggers and deletes', async () => {
    const t0 = Date.now();
    const schedule = await store.create(every(), t0);
    const paused = await store.setPaused(schedule.id, true, t0 + 100);
    expect(paused.nextRunAt).toBeNull();
    await scheduler().runDue(t0 + 5000);
    expect(await scheduled(schedule.id)).toHaveLength(0);
    const outcome = await scheduler().firer.trigger(schedule.id, t0 + 5000);
    expect(outcome.kind).toBe('fired');
    expect(await scheduled(schedule.id)).toHaveLength(1);
    const resumed = await store.setPaused(schedule.id, false, t0 + 5200);
    expect(resumed.nextRunAt).toBe(t0 + 6000);
    await store.delete(schedule.id);
    expect(await store.get(schedule.id)).toBeNull();
    expect(await h.redis.zcard(h.keys.schedulesDue)).toBe(0);
    // The name is free again.
    await store.create({ ...every(), name: schedule.name });
  });
});
