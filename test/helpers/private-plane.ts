import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedRedis, spawnRedisServer } from '@taskplane/core';
import { type TestEngine, testEngine } from './engine';
import { type ApiProcess, type RunningProcess, startApp } from './processes';
import { uniquePrefix } from './redis';

/** An API and a worker on a test's own redis-server (AOF on), and an engine in the test beside them. */
export interface PrivatePlane {
  prefix: string;
  /** The redis-server's data directory: start it again there to restart Redis with its data. */
  dir: string;
  redis: SpawnedRedis;
  api: ApiProcess;
  worker: RunningProcess;
  t: TestEngine;
  /** Restart Redis on the same port with its append-only file. */
  restartRedis(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * For tests that kill connections, stop or restart Redis: never the shared server. `token` is the
 * API's bootstrap admin token.
 */
export async function startPrivatePlane(
  name: string,
  config: Record<string, unknown>,
  token: string,
): Promise<PrivatePlane> {
  const dir = mkdtempSync(join(tmpdir(), `tptest-${name}-`));
  const prefix = uniquePrefix(name);
  const plane = { prefix, dir, redis: await spawnRedisServer({ dir }) } as PrivatePlane;
  const options = {
    prefix,
    redisUrl: plane.redis.url,
    configOverrides: config,
    env: { REDIS_URL: plane.redis.url, TASKPLANE_AUTH__BOOTSTRAP_TOKEN: token },
  };
  [plane.api, plane.worker] = await Promise.all([startApp('api', options), startApp('worker', options)]);
  await plane.worker.waitForLine(/worker ready/, 20_000);
  plane.t = testEngine(prefix, config, plane.redis.url);
  plane.restartRedis = async () => {
    await plane.redis.stop();
    plane.redis = await spawnRedisServer({ dir, port: plane.redis.port });
  };
  plane.stop = async () => {
    await Promise.all([plane.api?.stop(), plane.worker?.stop()]);
    await plane.t?.close().catch(() => {});
    await plane.redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return plane;
}
