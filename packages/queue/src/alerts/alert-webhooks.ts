import { randomBytes } from 'node:crypto';
import {
  type AlertEvent,
  type AlertEventKind,
  type AlertSeverity,
  createRedis,
  fieldErrors,
  type Keys,
  type Logger,
  NotFoundError,
  SEVERITY_RANK,
  type TaskplaneConfig,
  ValidationError,
  WebhookConfig,
} from '@taskplane/core';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { decodeAlertEvent } from './alert-log';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** The internal BullMQ queue of webhook deliveries (one job per webhook and alert event). */
export const ALERTS_QUEUE = '_alerts';
/** Delivery attempts kept per alert (the newest), and for how long. */
const DELIVERIES_KEPT = 100;
const DELIVERIES_TTL_MS = 7 * 86_400_000;
/** Alert events read per dispatch step. */
const DISPATCH_CHUNK = 100;

/** A webhook alerts are posted to; `source` says whether configuration or the API made it. */
export interface AlertWebhook {
  id: string;
  url: string;
  secret: string;
  minSeverity: AlertSeverity;
  source: 'config' | 'api';
}

/** One attempt to deliver one alert event to one webhook. */
export interface WebhookDelivery {
  webhookId: string;
  url: string;
  cursor: string;
  kind: AlertEventKind;
  attempt: number;
  at: number;
  ok: boolean;
  /** The receiver's HTTP status; null when none answered (refused, timed out). */
  status: number | null;
  error: string | null;
  /** No attempt follows this one (it succeeded, or it was the last allowed). */
  final: boolean;
}

interface DeliveryJob {
  webhookId: string;
  event: AlertEvent;
}

/** Webhooks: the configured ones (`alerts.webhooks`, ids `config-<n>`) and those made through the API. */
export class WebhookStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly configured: TaskplaneConfig['alerts']['webhooks'],
  ) {}

  async list(): Promise<AlertWebhook[]> {
    const stored = await this.redis.hvals(this.keys.alertWebhooks);
    return [
      ...this.configured.map((w, i) => ({
        id: `config-${i}`,
        url: w.url,
        secret: w.secret,
        minSeverity: w.min_severity,
        source: 'config' as const,
      })),
      ...stored.map((json) => JSON.parse(json) as AlertWebhook).sort((a, b) => a.id.localeCompare(b.id)),
    ];
  }

  /** Add a webhook; a bad URL or a short secret is a `ValidationError`. */
  async create(input: {
    url: string;
    secret: string;
    minSeverity?: AlertSeverity | null;
  }): Promise<AlertWebhook> {
    const parsed = WebhookConfig.safeParse({
      url: input.url,
      secret: input.secret,
      ...(input.minSeverity ? { min_severity: input.minSeverity } : {}),
    });
    if (!parsed.success) {
      const fields = fieldErrors(parsed.error).map((f) => ({
        ...f,
        path: f.path.replace('min_severity', 'minSeverity'),
      }));
      throw new ValidationError(
        `invalid webhook: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
        fields,
      );
    }
    const webhook: AlertWebhook = {
      id: `wh_${randomBytes(6).toString('hex')}`,
      url: parsed.data.url,
      secret: parsed.data.secret,
      minSeverity: parsed.data.min_severity,
      source: 'api',
    };
    await this.redis.hset(this.keys.alertWebhooks, webhook.id, JSON.stringify(webhook));
    return webhook;
  }

  async delete(id: string): Promise<AlertWebhook> {
    const json = await this.redis.hget(this.keys.alertWebhooks, id);
    if (!json)
      throw new NotFoundError(
        `no webhook ${id}${id.startsWith('config-') ? ' made through the API (configured ones change in alerts.webhooks)' : ''}`,
      );
    await this.redis.hdel(this.keys.alertWebhooks, id);
    return JSON.parse(json) as AlertWebhook;
  }
}

/**
 * Webhook delivery as stored work. `dispatch` (run by the alert evaluator's leader after each
 * pass) turns new alert log entries into one job per webhook on the internal `_alerts` queue, with
 * a job id made of the entry's cursor and the webhook's id, then advances its checkpoint
 * (`Keys.alertsDispatched`): a dispatcher that dies between the two re-adds jobs BullMQ already
 * has, which it ignores. Every API process runs a worker on that queue: it POSTs the event as JSON,
 * signed (`x-taskplane-signature`), and a failure (no answer, a non-2xx status) is retried with
 * exponential backoff up to `alerts.delivery.max_attempts`, so a receiver that is down loses
 * nothing. Each attempt is recorded with the alert (`Keys.alertDeliveries`).
 */
export class AlertDelivery {
  private readonly queue: Queue<DeliveryJob>;
  private worker: Worker<DeliveryJob> | null = null;
  private connection: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: TaskplaneConfig['alerts'],
    private readonly webhooks: WebhookStore,
    private readonly redisUrl: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(ALERTS_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    this.queue.on('error', (error) => this.logger.error({ err: error }, 'alert delivery queue error'));
  }

  /** Start delivering (any API process may deliver any alert). */
  start(): void {
    this.connection = createRedis({ url: this.redisUrl, role: 'worker', name: 'alert-delivery' });
    this.worker = new Worker<DeliveryJob>(ALERTS_QUEUE, (job) => this.deliver(job), {
      connection: this.connection,
      prefix: this.keys.bullPrefix,
      concurrency: 8,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'alert delivery worker error'));
  }

  /** Queue a delivery per webhook for every alert event after the checkpoint. */
  async dispatch(): Promise<void> {
    const { redis, keys } = this;
    let after = (await redis.get(keys.alertsDispatched)) ?? '0-0';
    for (;;) {
      const entries = (await redis.xrange(keys.alertsLog, `(${after}`, '+', 'COUNT', DISPATCH_CHUNK)) as [
        string,
        string[],
      ][];
      if (entries.length === 0) return;
      const webhooks = await this.webhooks.list();
      const jobs = entries.flatMap(([cursor, fields]) => {
        const event = decodeAlertEvent(cursor, fields);
        if (!event) return [];
        return webhooks
          .filter((w) => SEVERITY_RANK[event.alert.severity] >= SEVERITY_RANK[w.minSeverity])
          .map((w) => ({
            name: 'deliver',
            data: { webhookId: w.id, event },
            opts: {
              jobId: `${cursor}_${w.id}`,
              attempts: this.config.delivery.max_attempts,
              backoff: { type: 'exponential', delay: this.config.delivery.base_delay },
              removeOnComplete: { age: 86_400 },
              removeOnFail: { age: 7 * 86_400 },
            },
          }));
      });
      if (jobs.length) await this.queue.addBulk(jobs);
      after = entries.at(-1)![0];
      await redis.set(keys.alertsDispatched, after);
      if (entries.length < DISPATCH_CHUNK) return;
    }
  }

  private async deliver(job: Job<DeliveryJob>): Promise<void> {
    const { webhookId, event } = job.data;
    const webhook = (await this.webhooks.list()).find((w) => w.id === webhookId);
    if (!webhook) return; // deleted since: nothing to deliver to
    const body = JSON.stringify(event);
    const attempt = job.attemptsMade + 1;
    const record: WebhookDelivery = {
      webhookId,
      url: webhook.url,
      cursor: event.cursor,
      kind: event.kind,
      attempt,
      at: Date.now(),
      ok: false,
      status: null,
      error: null,
      final: attempt >= (job.opts.attempts ?? 1),
    };
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(webhook.secret, body),
          'x-taskplane-delivery': String(job.id),
          'x-taskplane-event': event.kind,
        },
        body,
        signal: AbortSignal.timeout(this.config.delivery.timeout),
      });
      await response.body?.cancel().catch(() => {});
      record.status = response.status;
      record.ok = response.ok;
      if (!response.ok) record.error = `HTTP ${response.status}`;
    } catch (error) {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a timeout...).
      const cause = (error as Error & { cause?: Error }).cause;
      record.error = cause?.message
        ? `${(error as Error).message}: ${cause.message}`
        : (error as Error).message;
    }
    if (record.ok) record.final = true;
    const key = this.keys.alertDeliveries(event.alert.id);
    await this.redis
      .multi()
      .rpush(key, JSON.stringify(record))
      .ltrim(key, -DELIVERIES_KEPT, -1)
      .pexpire(key, DELIVERIES_TTL_MS)
      .exec();
    if (!record.ok) throw new Error(`webhook ${webhookId}: ${record.error}`);
  }

  /** The delivery attempts of one alert, oldest first. */
  async deliveries(alertId: string): Promise<WebhookDelivery[]> {
    const all = await this.redis.lrange(this.keys.alertDeliveries(alertId), 0, -1);
    return all.map((json) => JSON.parse(json) as WebhookDelivery);
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.connection?.disconnect();
  }
}
