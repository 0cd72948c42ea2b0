import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, Keys, type SpawnedRedis, spawnRedisServer } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LIBRARY, LIBRARY_PREFIX, withScripts } from './scripts';

// Each test has a redis-server of its own: they flush its functions and restart it.
const started: SpawnedRedis[] = [];
const connections: Redis[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.disconnect();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

/** Without persistence, as a cache-like Redis is run: a restart forgets the library. */
async function privateRedis(dir = mkdtempSync(join(tmpdir(), 'tp-lib-')), port = 0): Promise<SpawnedRedis> {
  const server = await spawnRedisServer({ dir, port, settings: { save: '', appendonly: 'no' } });
  started.push(server);
  return server;
}

function connect(server: SpawnedRedis) {
  const redis = withScripts(createRedis({ url: server.url, role: 'worker' }));
  connections.push(redis);
  return redis;
}

const keys = new Keys('tplib');
/** One projection call: nothing to apply on an empty queue. */
function project(redis: ReturnType<typeof withScripts>) {
  return redis.tpProject(
    keys.bullEvents('q'),
    keys.projectorCheckpoint('q'),
    keys.events,
    keys.taskPrefix,
    keys.indexPrefix,
    1000,
    keys.bullKeyPrefix,
    keys.idempotencyPrefix,
    60,
    'q',
    100,
  );
}

async function libraries(redis: Redis): Promise<string[]> {
  const list = (await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', `${LIBRARY_PREFIX}*`)) as unknown[][];
  return list.map((entry) => String(entry[entry.indexOf('library_name') + 1]));
}

async function loads(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_function\|load:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('the script library', () => {
  it('is loaded by the first call that needs it, once however many calls find it missing', async () => {
    const server = await privateRedis();
    const redis = connect(server);
    expect(await libraries(redis)).toEqual([]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => project(redis)));
    expect(replies).toEqual(Array.from({ length: 10 }, () => [0, '0-0', 0, 0]));
    expect(await libraries(redis)).toEqual([LIBRARY.name]);
    expect(await loads(redis)).toBe(1);
  });

  it('is loaded again after FUNCTION FLUSH and after Redis restarts without it', async () => {
    const server = await privateRedis();
    const redis = connect(server);
    expect(await project(redis)).toEqual([0, '0-0', 0, 0]);

    await redis.call('FUNCTION', 'FLUSH');
    expect(await libraries(redis)).toEqual([]);
    expect(await project(redis)).toEqual([0, '0-0', 0, 0]);
    expect(await libraries(redis)).toHaveLength(1);

    await server.stop();
    started.splice(started.indexOf(server), 1);
    await privateRedis(server.dir, server.port);
    // The same connection reconnects to the restarted server, which has no functions.
    expect(await project(redis)).toEqual([0, '0-0', 0, 0]);
    expect(await libraries(redis)).toHaveLength(1);
  });

  it('leaves another version’s library alone: processes of both versions share one Redis', async () => {
    const server = await privateRedis();
    const redis = connect(server);
    const older = `#!lua name=${LIBRARY_PREFIX}0000000000000000\nredis.register_function('tpProject_0000000000000000', function() return 'old' end)`;
    await redis.call('FUNCTION', 'LOAD', older);
    expect(await project(redis)).toEqual([0, '0-0', 0, 0]);
    expect(await redis.fcall('tpProject_0000000000000000', 0)).toBe('old');
    expect(await libraries(redis)).toHaveLength(2);
  });
});
