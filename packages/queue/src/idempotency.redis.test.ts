import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './testing/harness';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('idempotent submit', () => {
  it('a submit that dies between claiming its key and adding the job blocks nothing: the retry creates the task', async () => {
    h = await createHarness();
    const dying = await h.otherEngine({
      afterIdempotencyClaim: async () => {
        throw new Error('process died here');
      },
    });
    const input = { type: 'work', params: { tag: 'x' }, idempotencyKey: 'order-7' };
    await expect(dying.submit(input)).rejects.toThrow('process died here');
    const claimed = await h.redis.get(h.keys.idempotency('order-7'));
    expect(claimed).toBeTruthy();
    expect(await h.engine.store.get(claimed!)).toBeNull();

    const retried = await h.engine.submit(input);
    expect(retried.created).toBe(true);
    expect(retried.task.id).toBe(claimed);
    expect(await h.engine.store.getOrThrow(claimed!)).toMatchObject({
      status: 'pending',
      params: { tag: 'x' },
    });
    // Once recorded, the key no longer expires while the task is unfinished.
    expect(await h.redis.ttl(h.keys.idempotency('order-7'))).toBe(-1);

    const again = await h.engine.submit(input);
    expect(again).toMatchObject({ created: false, task: { id: claimed } });
    expect(await h.engine.queue('work').getJobCountByTypes('waiting', 'prioritized')).toBe(1);
  });

  it('fifty identical concurrent submits from five processes create one task', async () => {
    h = await createHarness();
    const engines = await Promise.all(Array.from({ length: 5 }, () => h.otherEngine()));
    const input = { type: 'work', params: {}, idempotencyKey: 'same' };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => engines[i % 5]!.submit(input)));
    const ids = new Set(results.map((r) => r.task.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await h.engine.queue('work').getJobCountByTypes('waiting', 'prioritized')).toBe(1);
    const all = await h.engine.store.list({});
    expect(all.tasks.map((t) => t.id)).toEqual([...ids]);
    expect((await h.events()).filter((e) => e.kind === 'submitted')).toHaveLength(1);
  });

  it('fifty identical items in one call create one task', async () => {
    h = await createHarness();
    const outcomes = await h.engine.submitMany(
      Array.from({ length: 50 }, () => ({ type: 'work', params: {}, idempotencyKey: 'batch' })),
    );
    const ids = new Set(outcomes.map((o) => (o.ok ? o.task.id : o.error.message)));
    expect(ids.size).toBe(1);
    expect(outcomes.filter((o) => o.ok && o.created)).toHaveLength(1);
    expect(await h.engine.queue('work').getJobCountByTypes('waiting', 'prioritized')).toBe(1);
  });
});
