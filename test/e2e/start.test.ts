// `pnpm start` as a user runs it: a real process tree, real Redis, real ports.
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@taskplane/core';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { type ChildEnv, type RunningProcess, startControlPlane } from '../helpers/processes';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tptest-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the control plane, stops it after the test, and prints its output if the test fails. */
function start(env: ChildEnv): RunningProcess {
  const plane = startControlPlane({ env });
  // SIGTERM, not SIGKILL, so that the launcher stops the processes it started.
  cleanups.push(() => plane.stop('SIGTERM', 45_000));
  onTestFailed(() => console.log(`--- output of scripts/start.ts ---\n${plane.output()}`));
  return plane;
}

/** No REDIS_URL, and the address probed for a local Redis refuses connections. */
async function withoutReachableRedis(): Promise<ChildEnv> {
  return {
    REDIS_URL: undefined,
    TASKPLANE_REDIS__URL: undefined,
    TASKPLANE_DEFAULT_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm start', () => {
  it('embeds a redis-server when none answers, serves /readyz, and stops everything on SIGTERM', async () => {
    const dataDir = await tempDir();
    const apiPort = await freePort();
    const plane = start({
      ...(await withoutReachableRedis()),
      TASKPLANE_DATA_DIR: dataDir,
      TASKPLANE_API__PORT: String(apiPort),
      TASKPLANE_CONSOLE__PORT: String(await freePort()),
    });

    const [, redisPid] = await plane.waitForLine(/started an embedded redis-server \(pid (\d+)\)/);
    const [, redisDir] = await plane.waitForLine(/data \(append-only file\) in (.*); it stops/);
    expect(redisDir).toBe(path.join(dataDir, 'redis'));
    await plane.waitForLine(/Taskplane is running/, 100_000);
    expect(plane.output()).toMatch(new RegExp(`GraphQL: http://127\\.0\\.0\\.1:${apiPort}/graphql`));
    const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
    expect(ready.status).toBe(200);

    const exit = await plane.stop('SIGTERM', 45_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(isAlive(Number(redisPid))).toBe(false);
    // The append-only file stayed behind for the next start.
    expect(await readdir(path.join(dataDir, 'redis'))).not.toHaveLength(0);
  });

  it('without a redis-server binary, says how to install one or set REDIS_URL', async () => {
    // PATH keeps node (the launcher spawns `process.execPath` anyway) but loses redis-server,
    // which lives beside node in /usr/bin on Debian.
    const bin = await tempDir();
    await symlink(process.execPath, path.join(bin, 'node'));
    const plane = start({ ...(await withoutReachableRedis()), PATH: bin, TASKPLANE_DATA_DIR: bin });

    const exit = await plane.exited;
    expect(exit.code).toBe(1);
    expect(plane.output()).toMatch(/no redis-server binary on PATH/);
    expect(plane.output()).toMatch(/apt-get install redis-server/);
    expect(plane.output()).toMatch(/set REDIS_URL/);
  });

  it('refuses an invalid config file and names the bad key', async () => {
    const file = path.join(await tempDir(), 'taskplane.yaml');
    await writeFile(file, 'api:\n  prot: 4001\n');
    const plane = start({ TASKPLANE_CONFIG: file });

    const exit = await plane.exited;
    expect(exit.code).toBe(1);
    expect(plane.output()).toMatch(/api\.prot: unknown key/);
  });
});
