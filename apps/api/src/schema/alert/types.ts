import {
  type Alert,
  AlertComparison,
  type AlertEvent,
  AlertEventKind,
  AlertMetric,
  type AlertRule,
  AlertRuleSource,
  AlertSeverity,
} from '@taskplane/core';
import type { AlertWebhook, WebhookDelivery } from '@taskplane/queue';
import { builder } from '../../builder';
import { enumOf } from '../enum-of';
import { LabelRef } from '../task/types';

export const AlertMetricEnum = enumOf(
  'AlertMetric',
  AlertMetric.options,
  'What a rule watches: FAILURE_RATE, AVG_DURATION (ms), STALLED and DEAD_LETTERS over its window; QUEUE_SIZE and NO_CONSUMER (pending tasks no live worker consumes) now; REDIS_MEMORY (used / maxmemory); WORKER_GONE (a worker whose heartbeat expired without a graceful stop)',
);
export const AlertComparisonEnum = enumOf('AlertComparison', AlertComparison.options, 'value <op> threshold');
export const AlertSeverityEnum = enumOf('AlertSeverity', AlertSeverity.options, 'How urgent an alert is');
const SourceEnum = enumOf('AlertRuleSource', AlertRuleSource.options, 'Configuration or the API');
export const AlertEventKindEnum = enumOf(
  'AlertEventKind',
  Object.values(AlertEventKind),
  'FIRED: the condition held for the hold time; RESOLVED: it stayed clear (by the hysteresis margin) as long',
);

const labelList = (labels: Record<string, string>) =>
  Object.entries(labels).map(([key, value]) => ({ key, value }));

const seconds = (ms: number) => ms / 1000;

export const AlertRuleRef = builder.objectRef<AlertRule>('AlertRule').implement({
  description:
    'When to alert: the metric of a queue (null = each queue) and task type compared with a threshold, held for `forSeconds`',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    source: t.field({ type: SourceEnum, resolve: (r) => r.source }),
    metric: t.field({ type: AlertMetricEnum, resolve: (r) => r.metric }),
    queue: t.string({ nullable: true, resolve: (r) => r.scope.queue }),
    type: t.string({ nullable: true, resolve: (r) => r.scope.type }),
    labels: t.field({
      type: [LabelRef],
      description: 'Copied onto its alerts (metrics are per queue and type, not per label)',
      resolve: (r) => labelList(r.scope.labels),
    }),
    comparison: t.field({ type: AlertComparisonEnum, resolve: (r) => r.comparison }),
    threshold: t.exposeFloat('threshold'),
    windowSeconds: t.float({ resolve: (r) => seconds(r.windowMs) }),
    forSeconds: t.float({ resolve: (r) => seconds(r.forMs) }),
    cooldownSeconds: t.float({ resolve: (r) => seconds(r.cooldownMs) }),
    severity: t.field({ type: AlertSeverityEnum, resolve: (r) => r.severity }),
    mutedUntil: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.mutedUntil }),
    enabled: t.exposeBoolean('enabled'),
  }),
});

const DeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One attempt to post an alert event to a webhook',
  fields: (t) => ({
    webhookId: t.exposeID('webhookId'),
    url: t.exposeString('url'),
    cursor: t.exposeString('cursor', { description: 'The alert event delivered' }),
    kind: t.field({ type: AlertEventKindEnum, resolve: (d) => d.kind }),
    attempt: t.exposeInt('attempt'),
    at: t.field({ type: 'DateTime', resolve: (d) => d.at }),
    ok: t.exposeBoolean('ok'),
    status: t.exposeInt('status', { nullable: true, description: 'HTTP status; null when none came' }),
    error: t.exposeString('error', { nullable: true }),
    final: t.exposeBoolean('final', { description: 'No attempt follows (delivered, or given up)' }),
  }),
});

export const AlertRef = builder.objectRef<Alert>('Alert').implement({
  description: 'One firing of a rule for a queue (or a worker, or Redis), from fired to resolved',
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleId: t.exposeID('ruleId'),
    ruleName: t.exposeString('ruleName'),
    metric: t.field({ type: AlertMetricEnum, resolve: (a) => a.metric }),
    severity: t.field({ type: AlertSeverityEnum, resolve: (a) => a.severity }),
    queue: t.exposeString('queue', { nullable: true }),
    type: t.exposeString('type', { nullable: true }),
    workerId: t.exposeString('workerId', { nullable: true }),
    labels: t.field({ type: [LabelRef], resolve: (a) => labelList(a.labels) }),
    comparison: t.field({ type: AlertComparisonEnum, resolve: (a) => a.comparison }),
    threshold: t.exposeFloat('threshold'),
    value: t.exposeFloat('value', { nullable: true, description: 'When it fired, or when it resolved' }),
    summary: t.exposeString('summary'),
    firedAt: t.field({ type: 'DateTime', resolve: (a) => a.firedAt }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.resolvedAt }),
    deliveries: t.field({
      type: [DeliveryRef],
      authScopes: { operator: true },
      description: 'Webhook delivery attempts, oldest first (kept 7 days)',
      resolve: (a, _args, ctx) => ctx.alertDelivery.deliveries(a.id),
    }),
  }),
});

export const AlertEventRef = builder.objectRef<AlertEvent>('AlertEvent').implement({
  description: 'An alert fired or resolved; its cursor orders the alerts log',
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    kind: t.field({ type: AlertEventKindEnum, resolve: (e) => e.kind }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    alert: t.field({ type: AlertRef, resolve: (e) => e.alert }),
  }),
});

export const AlertWebhookRef = builder.objectRef<AlertWebhook>('AlertWebhook').implement({
  description: 'Where alerts are posted (the secret is never shown)',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    minSeverity: t.field({ type: AlertSeverityEnum, resolve: (w) => w.minSeverity }),
    source: t.field({ type: SourceEnum, resolve: (w) => w.source }),
  }),
});
