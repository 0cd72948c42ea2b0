import { beat, PresenceKind, presenceBase } from '@taskplane/queue';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

/** A worker process announcing itself on `queues` (presence only: it takes no task). */
async function workerOn(queues: string[]): Promise<void> {
  const { redis, keys } = api.services;
  const presence = {
    ...presenceBase('w-test', queues),
    runningTasks: [],
    memoryRss: 0,
    lastSeenAt: Date.now(),
  };
  await beat(
    redis,
    keys,
    { ...presence, concurrency: Object.fromEntries(queues.map((q) => [q, 3])) },
    5000,
    PresenceKind.Online,
  );
}

describe('health, /readyz and diagnostics', () => {
  it('name a queue with pending tasks that no worker consumes, and what to do about it', async () => {
    api = await startTestApi();
    const submitted = await api.graphql<{ submitTask: { task: { queue: string } } }>(
      'mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/p" } }) { ... on SubmitTaskPayload { task { queue } } } }',
    );
    const queue = submitted.data!.submitTask.task.queue;
    await workerOn(['search']);

    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      ready: false,
      status: 'degraded',
      workers: 1,
      reasons: [`queue ${queue} has 1 pending tasks and no worker consumes it`],
    });

    const health = await api.graphql<{ health: Record<string, unknown> }>(
      '{ health { status reasons workers queuesWithoutConsumer redisLatencyMs redisMemory { usedBytes policy } schedulerRunning schedulesOverdue } }',
      {},
      null,
    );
    expect(health.data!.health).toMatchObject({
      status: 'degraded',
      workers: 1,
      queuesWithoutConsumer: [queue],
      redisMemory: { policy: expect.any(String) },
      schedulesOverdue: 0,
    });
    expect(health.data!.health.redisLatencyMs).toBeGreaterThan(0);

    const diagnostics = await api.graphql<{ diagnostics: Record<string, unknown>[] }>(
      '{ diagnostics { code severity queue type evidence suggestion } }',
    );
    expect(diagnostics.data!.diagnostics).toContainEqual({
      code: 'no_consumer',
      severity: 'warning',
      queue,
      type: null,
      evidence: '1 pending, no worker consumes the queue',
      suggestion: `taskplane worker start --queues ${queue}`,
    });
  });

  it('keeps diagnostics for signed-in callers', async () => {
    api = await startTestApi();
    const anonymous = await api.graphql('{ diagnostics { code } }', {}, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
