// A worker that stops hands its running tasks back (BullMQ's WaitingError path); that must not
// use up one of the task's attempts.
import { createLogger, type HandlerMap, TransientError } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, REDIS_URL } from './testing/harness';
import { WorkerHost } from './worker-host';

let harness: Harness | null = null;
const hosts: WorkerHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.stop()));
  await harness?.close();
  harness = null;
});

describe('handing a task back on shutdown', () => {
  it('keeps the attempt: with maxAttempts 2, handed back once then failing once, the task is retried', async () => {
    harness = await createHarness({
      workers: {
        heartbeat_interval: '1s',
        shutdown_timeout: '100ms',
        lock_duration: '5s',
        stalled_interval: '5s',
      },
    });
    const h = harness;
    const runs: string[] = [];
    let started!: () => void;
    const firstRunStarted = new Promise<void>((resolve) => (started = resolve));
    const handlers: HandlerMap = {
      work: async (_params, ctx) => {
        runs.push(`run ${runs.length + 1}`);
        if (runs.length === 1) {
          started();
          // Runs until the stopping worker gives up waiting and hands the task back.
          return await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
          );
        }
        if (runs.length === 2) throw new TransientError('upstream said 503');
        return { ok: true };
      },
    };
    const startHost = async () => {
      const host = new WorkerHost({
        engine: h.engine,
        handlers,
        queues: ['work'],
        redisUrl: REDIS_URL,
        logger: createLogger('test', 'warn'),
        catalogueBaseUrl: 'http://127.0.0.1:9',
      });
      hosts.push(host);
      await host.start();
      return host;
    };

    const { task } = await h.engine.submit({ type: 'work', params: {}, maxAttempts: 2 });
    const first = await startHost();
    await firstRunStarted;
    await first.stop();
    await startHost();

    const events = await h.waitForEvents((all) =>
      all.some((e) => e.taskId === task.id && ['succeeded', 'dead_lettered'].includes(e.kind)),
    );
    expect(runs).toEqual(['run 1', 'run 2', 'run 3']);
    expect(events.filter((e) => e.taskId === task.id).map((e) => e.kind)).not.toContain('dead_lettered');
    const record = await h.engine.store.getOrThrow(task.id);
    expect(record.status).toBe('success');
    // The record says what BullMQ did: the handed-back run is listed but not counted.
    expect(record.attempts.map((a) => a.handedBack)).toEqual([true, false, false]);
    expect(record.attemptsMade).toBe(2);
  });
});
