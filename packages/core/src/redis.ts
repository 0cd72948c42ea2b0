import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, UnavailableError } from './errors';

/** Oldest Redis Taskplane runs on: BullMQ 6 needs 6.2, queue counts use ZINTERCARD (7.0). */
export const MIN_REDIS_VERSION = '7.0.0';

/**
 * What a connection is for, after BullMQ's production checklist: workers and blocking readers
 * wait for Redis forever (`maxRetriesPerRequest: null`); producers fail fast so a caller gets an
 * error instead of a hang while Redis is away.
 */
export type ConnectionRole = 'worker' | 'producer' | 'subscriber';

export interface RedisConnectionOptions {
  url: string;
  role: ConnectionRole;
  connectTimeoutMs?: number;
  /** Shown in `CLIENT LIST`, handy when several processes share one Redis. */
  name?: string;
}

export function createRedis({ url, role, connectTimeoutMs = 5000, name }: RedisConnectionOptions): Redis {
  const options: RedisOptions = {
    connectTimeout: connectTimeoutMs,
    connectionName: name,
    // Reconnect forever with a capped delay: Redis restarts are survived, not fatal.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    maxRetriesPerRequest: role === 'producer' ? 1 : null,
    enableOfflineQueue: role !== 'producer',
    lazyConnect: false,
  };
  const redis = new Redis(url, options);
  // Without a listener ioredis prints every reconnect failure as an unhandled error.
  redis.on('error', () => {});
  return redis;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

export interface RedisServerFacts {
  version: string;
  maxmemoryPolicy: string;
}

/**
 * Refuse to run on a Redis that would lose tasks: too old for BullMQ, or evicting keys under
 * memory pressure. Uses INFO, which managed services allow even where CONFIG is disabled.
 */
export async function checkRedisServer(redis: Redis, url: string): Promise<RedisServerFacts> {
  let info: string;
  try {
    await waitReady(redis);
    info = await redis.info();
  } catch (error) {
    throw new UnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const version = infoField(info, 'redis_version') ?? '0.0.0';
  const maxmemoryPolicy = infoField(info, 'maxmemory_policy') ?? 'unknown';
  if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
    throw new ConfigError(
      `Redis at ${redactUrl(url)} is version ${version}; Taskplane needs ${MIN_REDIS_VERSION} or newer. Upgrade Redis or point REDIS_URL at a newer server.`,
    );
  }
  if (maxmemoryPolicy !== 'noeviction') {
    throw new ConfigError(
      `Redis at ${redactUrl(url)} has maxmemory-policy ${maxmemoryPolicy}; it may evict queued tasks. ` +
        'Set it to noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and maxmemory-policy noeviction in redis.conf).',
    );
  }
  return { version, maxmemoryPolicy };
}

export interface RedisMemory {
  /** Bytes Redis has allocated (`used_memory`). */
  usedBytes: number;
  /** Its limit (`maxmemory`), or null when it has none (0). */
  maxBytes: number | null;
  policy: string;
}

/** Redis's memory use and limit, from INFO memory (allowed where CONFIG is not). */
export async function redisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const max = Number(infoField(info, 'maxmemory') ?? 0);
  return {
    usedBytes: Number(infoField(info, 'used_memory') ?? 0),
    maxBytes: max > 0 ? max : null,
    policy: infoField(info, 'maxmemory_policy') ?? 'unknown',
  };
}

/** Resolve once the connection is ready; a producer connection refuses commands before that. */
export async function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const onReady = () => finish();
    const onEnd = () => finish(new Error('connection closed'));
    function finish(error?: Error) {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    }
    redis.on('ready', onReady);
    redis.on('end', onEnd);
  });
}

/**
 * Is this ioredis's way of saying Redis is not reachable right now (a producer connection fails
 * fast while it reconnects)? Such failures are answered as UNAVAILABLE, retryable, not as bugs.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|LOADING Redis is loading/.test(
      error.message,
    )
  );
}

/** A Redis URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Does something answer PING at this URL within the timeout? */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
