// `taskplane repair` and `tune` as an operator runs them: the real binary against a real API, worker
// and Redis. Repair works on a store broken on purpose by raw writes (the way a bug, an old version
// or a crash leaves it).
import { createRedis, Keys } from '@taskplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRedisUrl } from '../helpers';
import {
  ADMIN_TOKEN,
  product,
  type Stack,
  startStack,
  submit,
  testLabel,
  waitForStatus,
} from './api-fixture';
import { runCli } from './cli-binary';

let stack: Stack;
let redis: ReturnType<typeof createRedis>;
beforeAll(async () => {
  stack = await startStack('cli-maint', { config: { monitoring: { stats_interval: '500ms' } } });
  redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const env = (token = ADMIN_TOKEN) => ({ TASKPLANE_URL: stack.apis[0]!.graphqlUrl, TASKPLANE_TOKEN: token });

interface Report {
  dryRun: boolean;
  complete: boolean;
  findings: { kind: string; subject: string; member: string; action: string }[];
}

async function repair(...args: string[]): Promise<Report> {
  const result = await runCli(env(), ['repair', '--json', ...args]);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as Report;
}

describe('taskplane repair', () => {
  it('reports a broken record, index entry, lock and idempotency key, fixes them, then finds nothing', async () => {
    const keys = new Keys(stack.prefix);
    // A task whose BullMQ job is lost while its record says pending: a delayed task, its job
    // deleted and its record moved to pending behind the scripts' back.
    const lost = await submit(
      stack.admin,
      product(stack.catalogue, testLabel(), 'p1', { delayMs: 3_600_000 }),
    );
    await redis
      .multi()
      .del(keys.bullJob('products', lost.id))
      .zrem(`${keys.bullQueue('products')}:delayed`, lost.id) // BullMQ's delayed set
      .hset(keys.task(lost.id), 'status', 'pending')
      .zrem(keys.indexStatus('delayed'), lost.id)
      .zadd(keys.indexStatus('pending'), Date.now(), lost.id)
      .exec();
    // An index entry naming no record, a lock of no active job, an idempotency key naming nothing.
    const ghost = 'tghost0000000000000';
    await redis
      .multi()
      .zadd(keys.indexType('single_product'), Date.now(), ghost)
      .set(keys.bullJobLock('products', ghost), 'token', 'PX', 600_000)
      .set(keys.idempotency('repair-ghost'), ghost)
      .exec();

    const expected = [
      { kind: 'INDEX_ENTRY_WITHOUT_RECORD', subject: keys.indexType('single_product'), member: ghost },
      { kind: 'TASK_WITHOUT_JOB', subject: lost.id, member: 'pending' },
      { kind: 'ORPHANED_LOCK', subject: 'products', member: ghost },
      { kind: 'IDEMPOTENCY_KEY_WITHOUT_TASK', subject: 'repair-ghost', member: ghost },
    ];
    const byKind = (r: Report) => [...r.findings].sort((a, b) => a.kind.localeCompare(b.kind));
    const sorted = [...expected].sort((a, b) => a.kind.localeCompare(b.kind));

    const preview = await repair('--dry-run');
    expect(preview).toMatchObject({ dryRun: true, complete: true });
    expect(byKind(preview)).toEqual(sorted.map((f) => expect.objectContaining(f)));
    expect(preview.findings.find((f) => f.kind === 'TASK_WITHOUT_JOB')?.action).toMatch(/dead-letter/);
    // Nothing changed.
    expect((await stack.admin.task(lost.id))?.status).toBe('PENDING');
    expect(await redis.zscore(keys.indexType('single_product'), ghost)).not.toBeNull();
    expect(await redis.exists(keys.idempotency('repair-ghost'))).toBe(1);

    // Not for operators: repair is an admin's tool.
    const refused = await runCli(env(await stack.token('OPERATOR')), ['repair', '--dry-run']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FORBIDDEN/);

    const human = await runCli(env(), ['repair']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^KIND\s+SUBJECT\s+MEMBER\s+FOUND\s+DONE/);
    expect(human.stdout).toMatch(/^fixed 4 inconsistencies; \d+ keys and index entries examined$/m);
    const task = await stack.admin.task(lost.id);
    expect(task?.status).toBe('DEAD_LETTERED');
    expect(await redis.zscore(keys.indexType('single_product'), ghost)).toBeNull();
    expect(await redis.exists(keys.idempotency('repair-ghost'))).toBe(0);
    expect(await redis.exists(keys.bullJobLock('products', ghost))).toBe(0);

    const again = await repair('--dry-run');
    expect(again).toMatchObject({ dryRun: true, complete: true, findings: [] });
    expect((await runCli(env(), ['repair', '--dry-run'])).stdout).toMatch(/^nothing to repair;/m);
  }, 60_000);
});

interface Tune {
  findings: { code: string; queue: string | null; evidence: string; suggestion: string }[];
  memory: { usedBytes: number };
}

describe('taskplane tune', () => {
  it('finds a paused queue with work and concurrency below the rate limit, with evidence and a fix', async () => {
    const label = testLabel();
    // A run time for the stats window: 100 ms a task.
    const ran = await submit(stack.admin, product(stack.catalogue, label, 'p1?latency=100'));
    await waitForStatus(stack.admin, ran.id);
    expect(
      await stack.admin.setQueueRateLimit({ name: 'products', max: 10_000, durationMs: 1_000 }),
    ).toMatchObject({ __typename: 'Queue' });
    expect((await runCli(env(), ['pause', 'products'])).code).toBe(0);
    await submit(stack.admin, product(stack.catalogue, label));
    try {
      let report: Tune | undefined;
      await expect
        .poll(
          async () => {
            const result = await runCli(env(), ['tune', '--json']);
            expect(result).toMatchObject({ code: 0, stderr: '' });
            report = JSON.parse(result.stdout) as Tune;
            return report.findings.filter((f) => f.queue === 'products').map((f) => f.code);
          },
          { timeout: 20_000, interval: 250 },
        )
        .toEqual(expect.arrayContaining(['paused_with_work', 'concurrency_below_rate_limit']));
      const limited = report!.findings.find((f) => f.code === 'concurrency_below_rate_limit')!;
      expect(limited.evidence).toMatch(
        /rate limit 10000 per 1000 ms at \d+ ms a task needs \d+ slots; the workers give 5/,
      );
      expect(limited.suggestion).toMatch(/^taskplane concurrency products \d+$/);
      expect(report!.findings.find((f) => f.code === 'paused_with_work')).toMatchObject({
        evidence: 'paused with 1 pending',
        suggestion: 'taskplane resume products',
      });
      expect(report!.memory.usedBytes).toBeGreaterThan(0);

      const human = await runCli(env(), ['tune']);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^SEVERITY\s+QUEUE\s+FINDING\s+EVIDENCE\s+SUGGESTION/);
      expect(human.stdout).toMatch(
        /^warning\s+products\s+paused_with_work\s+paused with 1 pending\s+taskplane resume products$/m,
      );
    } finally {
      await runCli(env(), ['resume', 'products']);
      await stack.admin.setQueueRateLimit({ name: 'products', max: null, durationMs: null });
    }
  }, 60_000);
});
