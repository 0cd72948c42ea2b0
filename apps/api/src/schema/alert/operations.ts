import { ConflictError, NotFoundError, ValidationError } from '@taskplane/core';
import { parseCursor } from '@taskplane/events';
import type { AlertEventFilter } from '@taskplane/queue';
import { builder } from '../../builder';
import { AUTH_ERRORS } from '../errors';
import { LabelInput } from '../task-filter';
import {
  AlertComparisonEnum,
  AlertEventKindEnum,
  AlertEventRef,
  AlertMetricEnum,
  AlertRef,
  AlertRuleRef,
  AlertSeverityEnum,
  AlertWebhookRef,
} from './types';

const MAX_PAGE = 500;

const AlertFilterInput = builder.inputType('AlertFilter', {
  description: 'Which alert events: every given condition must hold',
  fields: (t) => ({
    kind: t.field({ type: [AlertEventKindEnum], required: false }),
    severity: t.field({ type: [AlertSeverityEnum], required: false }),
    ruleId: t.idList({ required: false }),
    queue: t.stringList({ required: false }),
  }),
});

const toFilter = (filter: typeof AlertFilterInput.$inferInput | null | undefined): AlertEventFilter => ({
  kind: filter?.kind ?? null,
  severity: filter?.severity ?? null,
  ruleId: filter?.ruleId?.map(String) ?? null,
  queue: filter?.queue ?? null,
});

const AlertEventPageRef = builder
  .objectRef<{ nodes: import('@taskplane/core').AlertEvent[]; endCursor: string | null }>(
    'AlertEventConnection',
  )
  .implement({
    description: 'A page of the alert history, newest first',
    fields: (t) => ({
      nodes: t.field({ type: [AlertEventRef], resolve: (p) => p.nodes }),
      endCursor: t.exposeString('endCursor', {
        nullable: true,
        description: 'Pass as `after` for the next (older) page; null on the last',
      }),
    }),
  });

const ruleFields =
  (required: boolean) => (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
    name: t.string({ required }),
    metric: t.field({ type: AlertMetricEnum, required }),
    queue: t.string({ required: false, description: 'Null: each queue' }),
    type: t.string({ required: false, description: 'Null: all task types' }),
    labels: t.field({ type: [LabelInput], required: false, description: 'Copied onto the alerts' }),
    comparison: t.field({ type: AlertComparisonEnum, required: false, description: 'Default GT' }),
    threshold: t.float({ required, description: 'Ignored by WORKER_GONE' }),
    windowSeconds: t.float({ required: false, description: 'Default alerts.defaults.window; at most 6 h' }),
    forSeconds: t.float({ required: false, description: 'Hold time; default alerts.defaults.for' }),
    cooldownSeconds: t.float({ required: false, description: 'Default alerts.defaults.cooldown' }),
    severity: t.field({ type: AlertSeverityEnum, required: false, description: 'Default WARNING' }),
    enabled: t.boolean({ required: false }),
  });

const CreateRuleInput = builder.inputType('CreateAlertRuleInput', { fields: ruleFields(true) });
const UpdateRuleInput = builder.inputType('UpdateAlertRuleInput', {
  description: 'Only the given fields change',
  fields: ruleFields(false),
});

/** GraphQL input to the store's: seconds to ms, labels to a record, absent fields left out. */
function toRuleInput(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const scope: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null) continue;
    if (key === 'queue' || key === 'type') scope[key] = value;
    else if (key === 'labels')
      scope.labels = Object.fromEntries(
        (value as { key: string; value: string }[]).map((l) => [l.key, l.value]),
      );
    else if (key.endsWith('Seconds'))
      out[key.replace('Seconds', 'Ms')] = Math.round((value as number) * 1000);
    else out[key] = value;
  }
  if (Object.keys(scope).length) out.scope = scope;
  return out;
}

/** The store's field paths as the GraphQL input names them (`windowMs` → `windowSeconds`). */
function graphqlPath(path: string): string {
  return path.replace(/^scope\./, '').replace(/^(window|for|cooldown)Ms/, '$1Seconds');
}

/** Runs a rule change, naming bad fields as the GraphQL input does. */
async function withInputPaths<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const fields = error.fields.map((f) => ({ ...f, path: graphqlPath(f.path) }));
    throw new ValidationError(
      `invalid alert rule: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
}

builder.queryField('alertRules', (t) =>
  t.field({
    type: [AlertRuleRef],
    authScopes: { viewer: true },
    description: 'Every alert rule: configured (alerts.rules) first, then those made through the API',
    resolve: (_root, _args, ctx) => ctx.alertRules.list(),
  }),
);

builder.queryField('firingAlerts', (t) =>
  t.field({
    type: [AlertRef],
    authScopes: { viewer: true },
    description: 'The alerts firing now, oldest first',
    resolve: (_root, _args, ctx) => ctx.alertFeed.log.firing(),
  }),
);

builder.queryField('alerts', (t) =>
  t.field({
    type: AlertEventPageRef,
    authScopes: { viewer: true },
    errors: { types: [ValidationError], directResult: true },
    description: `Alert history (fired and resolved events), newest first, as far back as alerts.log_max_len events; a filtered page walks at most 5,000 events (a short page with an endCursor: keep going)`,
    args: {
      first: t.arg.int({ defaultValue: 50, description: `Page size, 1 to ${MAX_PAGE}` }),
      after: t.arg.string({ required: false, description: 'endCursor of the previous page' }),
      filter: t.arg({ type: AlertFilterInput, required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > MAX_PAGE)
        throw new ValidationError(`first must be 1 to ${MAX_PAGE}`, [
          { path: 'first', message: `1 to ${MAX_PAGE}` },
        ]);
      const after = args.after ? parseCursor(args.after) : null;
      const page = await ctx.alertFeed.log.history(first, after, toFilter(args.filter));
      return { nodes: page.events, endCursor: page.nextCursor };
    },
  }),
);

builder.queryField('alertWebhooks', (t) =>
  t.field({
    type: [AlertWebhookRef],
    authScopes: { operator: true },
    description: 'Where alerts are posted: configured (alerts.webhooks) and made through the API',
    resolve: (_root, _args, ctx) => ctx.webhooks.list(),
  }),
);

builder.mutationField('createAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    args: { input: t.arg({ type: CreateRuleInput, required: true }) },
    resolve: (_root, args, ctx) => withInputPaths(() => ctx.alertRules.create(toRuleInput(args.input))),
  }),
);

builder.mutationField('updateAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [ValidationError, NotFoundError, ConflictError, ...AUTH_ERRORS], directResult: true },
    description: 'Change a rule made through the API (configured ones change in configuration: CONFLICT)',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateRuleInput, required: true }) },
    resolve: (_root, args, ctx) =>
      withInputPaths(() => ctx.alertRules.update(String(args.id), toRuleInput(args.input))),
  }),
);

builder.mutationField('deleteAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ConflictError, ...AUTH_ERRORS], directResult: true },
    description: 'Delete a rule made through the API; its firing alerts resolve at the next evaluation',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.alertRules.delete(String(args.id)),
  }),
);

builder.mutationField('muteAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    description:
      'Fire nothing for this rule (configured or not) until `until`; null unmutes. Firing alerts still resolve.',
    args: { id: t.arg.id({ required: true }), until: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) =>
      ctx.alertRules.mute(String(args.id), args.until ? args.until.getTime() : null),
  }),
);

builder.mutationField('createAlertWebhook', (t) =>
  t.field({
    type: AlertWebhookRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Post every alert event at or above `minSeverity` to `url`, signed with `secret` (x-taskplane-signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">)',
    args: {
      url: t.arg.string({ required: true }),
      secret: t.arg.string({ required: true, description: 'At least 16 characters' }),
      minSeverity: t.arg({ type: AlertSeverityEnum, required: false }),
    },
    resolve: (_root, args, ctx) => ctx.webhooks.create(args),
  }),
);

builder.mutationField('deleteAlertWebhook', (t) =>
  t.field({
    type: AlertWebhookRef,
    authScopes: { admin: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.webhooks.delete(String(args.id)),
  }),
);

builder.subscriptionField('alerts', (t) =>
  t.field({
    type: AlertEventRef,
    authScopes: { viewer: true },
    description:
      'Alerts fired and resolved, live. With `after`, every alert event after that cursor first, then live, with no gap and no duplicate (CURSOR_EXPIRED when older than the log keeps); keep the last cursor to resume after a disconnect or a restart.',
    args: {
      after: t.arg.string({
        required: false,
        description: 'A cursor from an earlier alert event; "0" = everything kept',
      }),
      filter: t.arg({ type: AlertFilterInput, required: false }),
    },
    subscribe: (_root, args, ctx) => ctx.alertFeed.subscribe(args.after ?? null, toFilter(args.filter)),
    resolve: (event) => event,
  }),
);
