import { ConfigError, startRuntime } from '@taskplane/core';
import { builtinHandlers } from '@taskplane/handlers';
import { TaskEngine, WorkerHost } from '@taskplane/queue';
import { loadHandlerModules } from './handler-modules';

/** The worker process: consumes the configured queues until SIGTERM/SIGINT. */
const runtime = await startRuntime('worker', process.env, 'worker');
const { config, logger, keys, registry, redis, redisUrl } = runtime;
const handlers = { ...builtinHandlers, ...(await loadHandlerModules(config.workers.handler_modules)) };
const missing = registry
  .list()
  .filter((t) => !handlers[t.name])
  .map((t) => t.name);
if (missing.length) {
  const error = new ConfigError(
    `no handler for task types: ${missing.join(', ')}; add a module to workers.handler_modules`,
  );
  logger.fatal(error.message);
  process.exit(1);
}
const engine = new TaskEngine({ config, registry, keys, redis, logger });
const host = new WorkerHost({
  engine,
  handlers,
  queues: config.workers.queues,
  redisUrl,
  logger,
  catalogueBaseUrl: config.catalogue.base_url ?? 'http://127.0.0.1:4100',
});
// The runtime drains on the first SIGINT/SIGTERM. A second one forces, but says what that means
// first rather than letting the default action kill the process silently mid-drain.
let stopSignals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopSignals += 1;
    if (stopSignals < 2) return;
    logger.warn(
      { signal },
      'second stop signal: exiting without draining; running tasks run again after the stalled check',
    );
    process.exit(130);
  });
}
runtime.onShutdown(async () => {
  await host.stop();
  await engine.close();
});
await host.start();
logger.info({ workerId: host.id, redis: runtime.server.version }, 'worker ready');
