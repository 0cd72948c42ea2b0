import type { QueueFieldsFragment, WorkerFieldsFragment } from '@taskplane/client';
import { describe, expect, it } from 'vitest';
import { diagnose, type TuneInput } from './tune';

const counts = { pending: 0, delayed: 0, running: 0, blocked: 0, deadLettered: 0, succeeded: 0 };
const queue = (over: Partial<QueueFieldsFragment> = {}): QueueFieldsFragment =>
  ({
    name: 'products',
    paused: false,
    concurrency: 5,
    globalConcurrency: null,
    rateLimit: null,
    ...over,
    counts: { ...counts, ...over.counts },
  }) as QueueFieldsFragment;
const worker = (queues: string[], concurrency = 5): WorkerFieldsFragment =>
  ({
    id: `w-${queues.join()}`,
    host: 'h',
    pid: 1,
    queues,
    runningTasks: [],
    memoryRss: 0,
    startedAt: '',
    lastSeenAt: '',
    concurrency: queues.map((q) => ({ queue: q, concurrency })),
  }) as unknown as WorkerFieldsFragment;
const input = (over: Partial<TuneInput>): TuneInput => ({
  queues: [],
  stats: [],
  workers: [worker(['products'])],
  memory: { usedBytes: 1, maxBytes: null, policy: 'noeviction' },
  ...over,
});
const codes = (i: TuneInput) => diagnose(i).map((f) => f.code);

describe('tune rules', () => {
  it('finds pending work no worker consumes, and no workers at all', () => {
    const queues = [queue({ name: 'search', counts: { ...counts, pending: 3 } })];
    expect(codes(input({ queues }))).toEqual(['no_consumer']);
    expect(codes(input({ queues, workers: [] }))).toEqual(['no_workers']);
  });

  it('finds Redis near its memory limit, and not without a limit', () => {
    const near = { usedBytes: 90, maxBytes: 100, policy: 'noeviction' };
    expect(codes(input({ memory: near }))).toEqual(['redis_memory']);
    expect(codes(input({ memory: { ...near, usedBytes: 50 } }))).toEqual([]);
  });

  it('suggests more slots only when they cannot reach the rate limit', () => {
    const limited = queue({ rateLimit: { max: 10, durationMs: 1000 } });
    const stat = (avgDurationMs: number) =>
      ({ name: 'products', avgDurationMs, failureRate: 0, throughputPerMinute: 0, alerts: [] }) as never;
    // 10/s × 2 s = 20 slots needed, two workers give 10: 10 each.
    const [finding] = diagnose(
      input({
        queues: [limited],
        stats: [stat(2000)],
        workers: [worker(['products']), worker(['products', 'x'])],
      }),
    );
    expect(finding).toMatchObject({
      code: 'concurrency_below_rate_limit',
      suggestion: 'taskplane concurrency products 10',
    });
    expect(codes(input({ queues: [limited], stats: [stat(100)] }))).toEqual([]);
  });

  it('finds a high failure rate and a saturated queue', () => {
    const stat = {
      name: 'products',
      avgDurationMs: null,
      failureRate: 0.5,
      throughputPerMinute: 1,
      alerts: [],
    } as never;
    const busy = queue({ counts: { ...counts, pending: 50, running: 5 } });
    expect(codes(input({ queues: [busy], stats: [stat] }))).toEqual(['saturated', 'high_failure_rate']);
  });
});
