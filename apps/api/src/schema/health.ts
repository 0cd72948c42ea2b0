import { type RedisMemory, redisMemory } from '@taskplane/core';
import { listWorkers } from '@taskplane/queue';
import { builder } from '../builder';

interface Health {
  status: string;
  redisVersion: string;
  workers: number;
}

const HealthRef = builder.objectRef<Health>('Health').implement({
  description: 'Whether the control plane can do its work',
  fields: (t) => ({
    status: t.exposeString('status', { description: '"ok", or "degraded" when no worker is online' }),
    redisVersion: t.exposeString('redisVersion'),
    workers: t.exposeInt('workers', { description: 'Worker processes online' }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'Liveness of the control plane; open to everyone',
    resolve: async (_root, _args, ctx) => {
      await ctx.redis.ping();
      const workers = (await listWorkers(ctx.redis, ctx.keys)).length;
      return { status: workers > 0 ? 'ok' : 'degraded', redisVersion: ctx.redisVersion, workers };
    },
  }),
);

const RedisMemoryRef = builder.objectRef<RedisMemory>('RedisMemory').implement({
  description: 'Redis memory use against its limit (INFO memory)',
  fields: (t) => ({
    usedBytes: t.exposeFloat('usedBytes'),
    maxBytes: t.exposeFloat('maxBytes', { nullable: true, description: 'null when Redis has no limit' }),
    policy: t.exposeString('policy', { description: 'maxmemory-policy (Taskplane requires noeviction)' }),
  }),
});

builder.queryField('redisMemory', (t) =>
  t.field({
    type: RedisMemoryRef,
    authScopes: { viewer: true },
    description: 'How close Redis is to its memory limit (for taskplane tune)',
    resolve: (_root, _args, ctx) => redisMemory(ctx.redis),
  }),
);
