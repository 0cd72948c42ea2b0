import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { checkRedisServer, createRedis } from './redis';
import { type SpawnedRedis, spawnRedisServer } from './redis-server';

const started: SpawnedRedis[] = [];
async function privateRedis(settings?: Record<string, string>): Promise<SpawnedRedis> {
  const server = await spawnRedisServer({ dir: mkdtempSync(join(tmpdir(), 'tp-redis-')), settings });
  started.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

describe('Redis server check', () => {
  it('accepts a noeviction server and reports its version', async () => {
    const server = await privateRedis();
    const redis = createRedis({ url: server.url, role: 'producer' });
    try {
      const facts = await checkRedisServer(redis, server.url);
      expect(facts.maxmemoryPolicy).toBe('noeviction');
      expect(facts.version).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a server that evicts keys, saying how to fix it', async () => {
    const server = await privateRedis({ 'maxmemory-policy': 'allkeys-lru' });
    const redis = createRedis({ url: server.url, role: 'producer' });
    try {
      const check = checkRedisServer(redis, server.url);
      await expect(check).rejects.toBeInstanceOf(ConfigError);
      await expect(check).rejects.toThrow(/maxmemory-policy allkeys-lru.*noeviction/);
    } finally {
      redis.disconnect();
    }
  });

  it('reports an unreachable server as unavailable', async () => {
    const server = await privateRedis();
    await server.stop();
    const redis = createRedis({ url: server.url, role: 'producer', connectTimeoutMs: 300 });
    try {
      await expect(checkRedisServer(redis, server.url)).rejects.toThrow(/cannot reach Redis/);
    } finally {
      redis.disconnect();
    }
  });
});
