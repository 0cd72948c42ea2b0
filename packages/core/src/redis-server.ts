import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { ConfigError } from './errors';
import { redisAnswers } from './redis';

/** A `redis-server` this process started and must stop. */
export interface SpawnedRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export interface SpawnRedisOptions {
  /** Data directory (AOF and dump files live here). */
  dir: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Extra `--key value` settings, e.g. `{ 'maxmemory-policy': 'allkeys-lru' }`. */
  settings?: Record<string, string>;
  binary?: string;
  /**
   * Own process group, so a terminal's Ctrl-C reaches only the parent, which can stop Redis last
   * (after the apps that use it).
   */
  detached?: boolean;
}

export function redisServerBinary(binary = 'redis-server'): string | null {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? binary : null;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Start a private `redis-server`: AOF on, `noeviction`, bound to loopback. Used as the embedded
 * default by `pnpm start` and by tests that stop or reconfigure Redis.
 */
export async function spawnRedisServer(options: SpawnRedisOptions): Promise<SpawnedRedis> {
  const binary = redisServerBinary(options.binary);
  if (!binary) {
    throw new ConfigError(
      'no redis-server binary on PATH. Install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a Redis you run.',
    );
  }
  mkdirSync(options.dir, { recursive: true });
  const port = options.port || (await freePort());
  const settings: Record<string, string> = {
    port: String(port),
    bind: '127.0.0.1',
    dir: options.dir,
    appendonly: 'yes',
    'maxmemory-policy': 'noeviction',
    save: '',
    'protected-mode': 'yes',
    ...options.settings,
  };
  const args = Object.entries(settings).flatMap(([key, value]) => [`--${key}`, value]);
  const child: ChildProcess = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 300))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ConfigError(`redis-server did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    pid: child.pid!,
    dir: options.dir,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
