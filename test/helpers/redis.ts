import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type createRedis, type SpawnedRedis, spawnRedisServer } from '@taskplane/core';

/** ioredis's client, named through core so the test package needs no ioredis dependency of its own. */
type Redis = ReturnType<typeof createRedis>;

/** The Redis every test shares unless it needs its own: `REDIS_URL`, else 127.0.0.1:6379. */
export function sharedRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** A key prefix no other test run uses, `tptest-<name>-<random>`, valid as `redis.prefix`. */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_\-.]+/g, '-').slice(0, 40);
  return `tptest-${safe}-${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes every key under `<prefix>:` and returns how many went. SCAN is fine in test tooling
 * (never on a hot path); FLUSHALL/FLUSHDB are never used, as other tests share the server.
 */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  const stream = redis.scanStream({ match: `${prefix}:*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  }
  return deleted;
}

/**
 * A `redis-server` of the test's own, in a temporary directory (AOF on, `noeviction` unless
 * `settings` say otherwise), for tests that stop, restart or reconfigure Redis. Call `stop()` in
 * `afterAll`; it also removes the directory.
 */
export async function privateRedis(settings?: Record<string, string>): Promise<SpawnedRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tptest-redis-'));
  const server = await spawnRedisServer({ dir, ...(settings ? { settings } : {}) });
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
