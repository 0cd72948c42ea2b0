import type { Runtime } from '@taskplane/core';
import { createRedis } from '@taskplane/core';
import { EventHub } from '@taskplane/events';
import {
  AlertDelivery,
  AlertEvaluator,
  AlertRuleStore,
  applyScheduleConfig,
  BulkOperations,
  BulkRunner,
  listWorkers,
  MetricsKeeper,
  MetricsStore,
  Projector,
  Scheduler,
  ScheduleStore,
  TaskEngine,
  WebhookStore,
  WorkflowService,
} from '@taskplane/queue';
import { AlertFeed } from './alert-feed';
import { TokenStore } from './auth/token-store';
import type { Services } from './context';
import { EventTasks } from './event-tasks';
import { LiveStats } from './live-stats';
import { loadPersistedOperations } from './persisted-operations';
import { PresenceFeed } from './presence-feed';
import { ScheduleFeed } from './schedule-feed';

export interface RunningServices extends Services {
  stop(): Promise<void>;
}

/**
 * Everything the API serves from, started once per process: the engine, one event subscription,
 * presence, statistics, bulk operations and a projector (so records keep up even with no worker).
 */
export async function startServices(
  runtime: Runtime,
  bootstrapToken: string | null,
): Promise<RunningServices> {
  const { config, keys, redis, registry, logger, redisUrl } = runtime;
  const engine = new TaskEngine({ config, registry, keys, redis, logger });
  const hub = new EventHub(redisUrl, keys, redis, logger);
  await hub.start();
  const presence = new PresenceFeed(redisUrl, redis, keys, config.monitoring.health_check_interval, logger);
  await presence.start();
  const metrics = MetricsStore.of(engine);
  const stats = new LiveStats(engine, metrics, config, logger);
  await stats.start();
  const bulk = new BulkOperations(engine, redisUrl, keys, logger);
  await bulk.start();
  // Bulk operations are stored work: any API process runs them, and resumes one whose runner died.
  const bulkRunner = new BulkRunner(engine, bulk.store, redisUrl, logger);
  bulkRunner.start();
  // Workers project BullMQ's events; an API process does only while no worker is online, so the
  // process that fans events out to subscribers is not also the one applying them.
  const projector = new Projector(
    engine,
    createRedis({ url: redisUrl, role: 'worker', name: 'api-projector' }),
    logger,
    { standbyWhile: async () => (await listWorkers(redis, keys)).length > 0 },
  );
  projector.start();
  // Configured schedules first, then the scheduler: every API and worker process runs one, the
  // lease holder fires (see Scheduler).
  const schedules = ScheduleStore.of(engine);
  await applyScheduleConfig(schedules, config.schedules, logger);
  const scheduleFeed = new ScheduleFeed(redisUrl, redis, keys, logger);
  await scheduleFeed.start();
  const scheduler = new Scheduler({ engine, store: schedules, logger });
  scheduler.start();
  const metricsKeeper = new MetricsKeeper(engine, logger);
  metricsKeeper.start();
  // Alerts: every API process follows the log and delivers webhooks; the lease holder evaluates
  // the rules and dispatches new alert events to the webhooks' delivery queue.
  const alertFeed = new AlertFeed(redisUrl, redis, keys, logger);
  await alertFeed.start();
  const alertRules = new AlertRuleStore({
    redis,
    keys,
    config,
    queues: () => engine.queueNames(),
    hasType: (type) => registry.has(type),
  });
  const webhooks = new WebhookStore(redis, keys, config.alerts.webhooks);
  const alertDelivery = new AlertDelivery(redis, keys, config.alerts, webhooks, redisUrl, logger);
  alertDelivery.start();
  const alertEvaluator = new AlertEvaluator({
    engine,
    rules: alertRules,
    logger,
    afterPass: () => alertDelivery.dispatch(),
  });
  alertEvaluator.start();
  return {
    config,
    keys,
    redis,
    engine,
    registry,
    hub,
    presence,
    stats,
    bulk,
    schedules,
    scheduler,
    scheduleFeed,
    metrics,
    alertRules,
    alertFeed,
    webhooks,
    alertDelivery,
    eventTasks: new EventTasks(engine.store),
    workflows: new WorkflowService(engine),
    tokens: new TokenStore(redis, keys, bootstrapToken),
    redisVersion: runtime.server.version,
    persisted: loadPersistedOperations(config),
    async stop() {
      await alertEvaluator.stop();
      await alertDelivery.stop();
      await alertFeed.stop();
      await scheduler.stop();
      await metricsKeeper.stop();
      await scheduleFeed.stop();
      await projector.stop();
      await stats.stop();
      await presence.stop();
      await bulkRunner.stop();
      await bulk.stop();
      await hub.stop();
      await engine.close();
    },
  };
}
