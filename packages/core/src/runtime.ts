import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { TaskplaneConfig } from './config';
import { loadConfig } from './config-loader';
import { ConfigError, isTaskplaneError } from './errors';
import { Keys } from './keys';
import { createLogger, type Logger } from './logger';
import { type ConnectionRole, checkRedisServer, createRedis, type RedisServerFacts } from './redis';
import { BUILTIN_TASK_TYPES, TaskTypeRegistry } from './task-types';

/** Where Redis is looked for when the configuration names none. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The task types of a deployment: the built-ins plus those its configuration declares. */
export function createRegistry(config: TaskplaneConfig): TaskTypeRegistry {
  const registry = new TaskTypeRegistry(BUILTIN_TASK_TYPES);
  for (const [name, declared] of Object.entries(config.task_types)) {
    let params: z.ZodType;
    try {
      params = z.fromJSONSchema(declared.params as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (error) {
      throw new ConfigError(
        `task_types.${name}.params is not a usable JSON Schema: ${(error as Error).message}`,
      );
    }
    registry.register({
      name,
      description: declared.description,
      queue: declared.queue,
      params,
      defaults: {
        priority: declared.priority,
        maxAttempts: declared.max_attempts,
        timeoutMs: declared.timeout,
      },
    });
  }
  return registry;
}

export interface Runtime {
  config: TaskplaneConfig;
  logger: Logger;
  keys: Keys;
  registry: TaskTypeRegistry;
  redisUrl: string;
  redis: Redis;
  server: RedisServerFacts;
  /** Run `fn` on SIGTERM/SIGINT (once), then exit. */
  onShutdown(fn: () => Promise<void>): void;
}

/**
 * Start-up every app shares: validate configuration once, connect to Redis and check it once,
 * and close cleanly on SIGTERM/SIGINT. A bad configuration or Redis ends the process with a message
 * that says what to fix.
 */
export async function startRuntime(
  name: string,
  env: Record<string, string | undefined>,
  role: ConnectionRole,
): Promise<Runtime> {
  const logger = createLogger(name, env.TASKPLANE_LOG_LEVEL ?? 'info');
  try {
    const config = loadConfig({ env });
    const redisUrl = config.redis.url ?? DEFAULT_REDIS_URL;
    const redis = createRedis({
      url: redisUrl,
      role,
      name: `${name}:${process.pid}`,
      connectTimeoutMs: config.redis.connect_timeout,
    });
    const server = await checkRedisServer(redis, redisUrl);
    const registry = createRegistry(config);
    let shuttingDown = false;
    const handlers: (() => Promise<void>)[] = [];
    const shutdown = async (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, 'shutting down');
      for (const fn of handlers.reverse()) {
        await fn().catch((error) => logger.error({ err: error }, 'error while shutting down'));
      }
      await redis.quit().catch(() => redis.disconnect());
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    return {
      config,
      logger,
      keys: new Keys(config.redis.prefix),
      registry,
      redisUrl,
      redis,
      server,
      onShutdown: (fn) => handlers.push(fn),
    };
  } catch (error) {
    if (isTaskplaneError(error)) {
      logger.fatal({ code: error.code }, error.message);
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
