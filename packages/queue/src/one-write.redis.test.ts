import { randomBytes } from 'node:crypto';
import { createRedis } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inOneWrite } from './one-write';
import { REDIS_URL } from './testing/harness';

let redis: Redis;
const key = `tptest-onewrite-${randomBytes(4).toString('hex')}`;

beforeEach(() => {
  redis = createRedis({ url: REDIS_URL, role: 'worker' });
});
afterEach(async () => {
  await redis.del(key);
  redis.disconnect();
});

describe('inOneWrite', () => {
  it('sends what it is given in order and answers each command on its own, a failed one alone', async () => {
    await redis.ping();
    const [first, wrong, second] = inOneWrite(redis, () => [
      redis.incr(key),
      redis.hget(key, 'field'),
      redis.incr(key),
    ]);
    expect(await first).toBe(1);
    await expect(wrong).rejects.toThrow(/WRONGTYPE/);
    expect(await second).toBe(2);
    expect(await redis.get(key)).toBe('2');
  });

  it('before the connection is ready, the commands wait for it as any others', async () => {
    const fresh = createRedis({ url: REDIS_URL, role: 'worker' });
    try {
      const replies = inOneWrite(fresh, () => [fresh.incr(key), fresh.incr(key)]);
      expect(await Promise.all(replies)).toEqual([1, 2]);
    } finally {
      fresh.disconnect();
    }
  });
});
