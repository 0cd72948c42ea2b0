import { NotFoundError, ValidationError } from '@taskplane/core';
import { type GroupCounts, type GroupSettings, MAX_GROUP_PAGE } from '@taskplane/queue';
import { builder } from '../builder';
import { AUTH_ERRORS } from './errors';
import { QueueRef, QueueView } from './queue';
import { PageInfoRef } from './task/types';

// Fair groups of a queue (issue 12): their counts, paged, and their limits, changeable at run time.

const GroupRateLimitRef = builder
  .objectRef<NonNullable<GroupSettings['rateLimit']>>('GroupRateLimit')
  .implement({
    fields: (t) => ({
      max: t.exposeInt('max', { description: 'Starts of one group allowed in any window' }),
      durationMs: t.exposeInt('durationMs'),
    }),
  });

const GroupLimitsRef = builder.objectRef<GroupSettings>('GroupLimits').implement({
  description: 'Limits that apply to each fair group of a queue on its own',
  fields: (t) => ({
    concurrency: t.exposeInt('concurrency', {
      nullable: true,
      description:
        'Tasks of one group in flight at once (started, or taken from the lane and not finished); null = no limit',
    }),
    rateLimit: t.field({ type: GroupRateLimitRef, nullable: true, resolve: (g) => g.rateLimit }),
    window: t.exposeInt('window', {
      description:
        'Grouped tasks waiting in BullMQ at most, across the groups: a new group waits behind at most this many',
    }),
  }),
});

const QueueGroupRef = builder.objectRef<GroupCounts & { limit: number | null }>('QueueGroup').implement({
  description: 'One fair group of a queue, as its counts stand now',
  fields: (t) => ({
    name: t.exposeString('name'),
    waiting: t.exposeInt('waiting', { description: 'Parked in the group’s lane, waiting for its turn' }),
    queued: t.exposeInt('queued', {
      description: 'Taken from the lane, waiting in BullMQ for a worker (or a rate-limit token)',
    }),
    running: t.exposeInt('running'),
    inFlight: t.exposeInt('inFlight', {
      description: 'Taken from the lane and not finished (queued, running, retrying): what `limit` counts',
    }),
    limit: t.exposeInt('limit', {
      nullable: true,
      description: 'The queue’s group concurrency limit; null = none',
    }),
  }),
});

const QueueGroupConnectionRef = builder
  .objectRef<{ nodes: (GroupCounts & { limit: number | null })[]; endCursor: string | null }>(
    'QueueGroupConnection',
  )
  .implement({
    description: 'A page of a queue’s groups, in no particular order',
    fields: (t) => ({
      nodes: t.field({ type: [QueueGroupRef], resolve: (p) => p.nodes }),
      pageInfo: t.field({ type: PageInfoRef, resolve: (p) => ({ endCursor: p.endCursor }) }),
    }),
  });

builder.objectField(QueueRef, 'groups', (t) =>
  t.field({
    type: QueueGroupConnectionRef,
    description: `Groups with tasks waiting, queued or running, about \`first\` a page (at most ${MAX_GROUP_PAGE}; a small queue's come in one page)`,
    args: {
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string({ required: false, description: 'A pageInfo.endCursor' }),
    },
    resolve: async (q, args, ctx) => {
      const [page, settings] = await Promise.all([
        ctx.engine.groups(q.name, args.first ?? 50, args.after ?? null),
        q.settings(),
      ]);
      const limit = settings.groups.concurrency;
      return { nodes: page.groups.map((g) => ({ ...g, limit })), endCursor: page.nextCursor };
    },
  }),
);

builder.objectField(QueueRef, 'groupLimits', (t) =>
  t.field({ type: GroupLimitsRef, resolve: async (q) => (await q.settings()).groups }),
);

builder.mutationField('setQueueGroupLimits', (t) =>
  t.field({
    type: QueueRef,
    authScopes: { operator: true },
    errors: { types: [NotFoundError, ValidationError, ...AUTH_ERRORS], directResult: true },
    description:
      'Change the limits of each fair group of a queue at run time; omitted arguments keep their value. A raised limit starts the waiting tasks it allows at once',
    args: {
      name: t.arg.string({ required: true }),
      concurrency: t.arg.int({ required: false, description: '0 removes the limit' }),
      rateMax: t.arg.int({ required: false, description: 'With rateDurationMs; 0 removes the rate limit' }),
      rateDurationMs: t.arg.int({ required: false }),
      window: t.arg.int({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const groups: Partial<GroupSettings> = {};
      if (args.concurrency != null) groups.concurrency = args.concurrency === 0 ? null : args.concurrency;
      if (args.rateMax === 0) groups.rateLimit = null;
      else if (args.rateMax != null || args.rateDurationMs != null) {
        if (args.rateMax == null || args.rateDurationMs == null) {
          throw new ValidationError(
            'give both rateMax and rateDurationMs, or rateMax 0 to remove the limit',
            [
              {
                path: args.rateMax == null ? 'rateMax' : 'rateDurationMs',
                message: 'required with the other',
              },
            ],
          );
        }
        groups.rateLimit = { max: args.rateMax, durationMs: args.rateDurationMs };
      }
      if (args.window != null) groups.window = args.window;
      await ctx.engine.updateQueueSettings(args.name, { groups });
      return new QueueView(args.name, ctx.engine);
    },
  }),
);
