import type { Keys, TaskplaneConfig, TaskTypeRegistry } from '@taskplane/core';
import type { EventHub } from '@taskplane/events';
import type {
  AlertDelivery,
  AlertRuleStore,
  BulkOperations,
  MetricsStore,
  Scheduler,
  ScheduleStore,
  TaskEngine,
  WebhookStore,
  WorkflowService,
} from '@taskplane/queue';
import type { Redis } from 'ioredis';
import type { AlertFeed } from './alert-feed';
import type { TokenStore } from './auth/token-store';
import type { Role, TokenRecord } from './auth/tokens';
import type { EventTasks } from './event-tasks';
import type { LiveStats } from './live-stats';
import type { PresenceFeed } from './presence-feed';
import type { ScheduleFeed } from './schedule-feed';

/** What every resolver can reach; one per process, shared by requests. */
export interface Services {
  config: TaskplaneConfig;
  keys: Keys;
  redis: Redis;
  engine: TaskEngine;
  registry: TaskTypeRegistry;
  hub: EventHub;
  tokens: TokenStore;
  bulk: BulkOperations;
  stats: LiveStats;
  presence: PresenceFeed;
  schedules: ScheduleStore;
  /** This process's scheduler: `triggerSchedule` fires through it. */
  scheduler: Scheduler;
  scheduleFeed: ScheduleFeed;
  /** Metrics over time: series, the latest minute, totals for /metrics. */
  metrics: MetricsStore;
  /** Loads the task of an event once for all the subscriptions that select it. */
  eventTasks: EventTasks;
  /** Workflows: DAG submit, reads and lists. */
  workflows: WorkflowService;
  redisVersion: string;
  /** Alert rules, configured and made through the API. */
  alertRules: AlertRuleStore;
  /** The alerts log: history, what is firing, and the `alerts` subscription. */
  alertFeed: AlertFeed;
  webhooks: WebhookStore;
  /** Webhook delivery (its attempts per alert). */
  alertDelivery: AlertDelivery;
  /** Persisted operations by id (`api.persisted_operations`), or null. */
  persisted: Map<string, string> | null;
}

/** Per request (HTTP) or per connection (WebSocket). */
export interface Context extends Services {
  /** The caller's token, or null when none (or a bad one) was presented. */
  token: TokenRecord | null;
  role: Role | null;
}
