import { TERMINAL_EVENT_KINDS } from '@taskplane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsStore } from '../metrics/metrics-store';
import { createHarness, type Harness } from '../testing/harness';
import { diagnose, FindingCode, readRecentMetrics } from './diagnose';
import { checkHealth, gatherFacts } from './plane-health';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function findings(h: Harness) {
  const facts = await gatherFacts(h.engine, '7');
  const recent = await readRecentMetrics(
    MetricsStore.of(h.engine),
    facts.queues.map((q) => q.name),
    h.engine.registry.list().map((t) => t.name),
    facts.at,
  );
  return diagnose(facts, recent, h.config);
}

describe('health and diagnostics', () => {
  it('names a type whose tasks mostly retry, with the evidence and what to change', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 20 }, () => ({
        type: 'work',
        params: { fail: 'until_attempt', untilAttempt: 2 },
        maxAttempts: 3,
      })),
    );
    await h.startWorker();
    const ids = outcomes.map((o) => (o.ok ? o.task.id : ''));
    await h.waitForEvents(
      (all) => ids.every((id) => all.some((e) => e.taskId === id && TERMINAL_EVENT_KINDS.has(e.kind))),
      20_000,
    );
    const retry = (await findings(h)).find((f) => f.code === FindingCode.HighRetryRate);
    expect(retry).toMatchObject({ type: 'work', severity: 'warning' });
    // 20 retries of 40 starts.
    expect(retry!.evidence).toContain('50.0% of 40 starts');
    expect(retry!.suggestion).toContain('PermanentError');
  });

  it('is degraded, naming the queue, while pending work has no consumer, and ok once a worker takes it', async () => {
    h = await createHarness();
    await h.engine.submit({ type: 'work', params: {} });
    const before = await checkHealth(h.engine, '7');
    expect(before.status).toBe('degraded');
    expect(before.reasons).toEqual([
      'no worker process is online',
      'queue work has 1 pending tasks and no worker consumes it',
    ]);
    await h.startWorker();
    await h.waitForEvents((all) => all.some((e) => e.kind === 'succeeded'));
    const after = await checkHealth(h.engine, '7');
    expect(after).toMatchObject({ status: 'ok', reasons: [] });
    expect(after.facts!.queues.find((q) => q.name === 'work')).toMatchObject({
      name: 'work',
      consumers: 1,
      slots: 2,
    });
    expect((await findings(h)).map((f) => f.code)).not.toContain(FindingCode.NoConsumer);
  });
});
