import { type RedisMemory, redisMemory } from '@taskplane/core';
import {
  checkHealth,
  diagnose,
  type Finding,
  gatherFacts,
  type PlaneHealth,
  queuesWithoutConsumer,
  readRecentMetrics,
} from '@taskplane/queue';
import { builder } from '../builder';

const RedisMemoryRef = builder.objectRef<RedisMemory>('RedisMemory').implement({
  description: 'Redis memory use against its limit (INFO memory)',
  fields: (t) => ({
    usedBytes: t.exposeFloat('usedBytes'),
    maxBytes: t.exposeFloat('maxBytes', { nullable: true, description: 'null when Redis has no limit' }),
    policy: t.exposeString('policy', { description: 'maxmemory-policy (Taskplane requires noeviction)' }),
  }),
});

const HealthRef = builder.objectRef<PlaneHealth & { redisVersion: string }>('Health').implement({
  description: 'Whether the control plane can do its work now (what /readyz answers)',
  fields: (t) => ({
    status: t.exposeString('status', {
      description:
        '"ok"; "degraded" when work cannot progress somewhere (see reasons); "down" when Redis does not answer',
    }),
    reasons: t.exposeStringList('reasons', { description: 'Why the status is not "ok"' }),
    redisVersion: t.exposeString('redisVersion'),
    redisLatencyMs: t.float({
      nullable: true,
      description: 'Round trip of a PING from this API process',
      resolve: (h) => h.facts?.redis.latencyMs ?? null,
    }),
    redisMemory: t.field({
      type: RedisMemoryRef,
      nullable: true,
      resolve: (h) => h.facts?.redis.memory ?? null,
    }),
    workers: t.int({ description: 'Worker processes online', resolve: (h) => h.facts?.workers.length ?? 0 }),
    queuesWithoutConsumer: t.stringList({
      description: 'Queues holding pending tasks that no worker consumes',
      resolve: (h) => (h.facts ? queuesWithoutConsumer(h.facts).map((q) => q.name) : []),
    }),
    schedulerRunning: t.boolean({
      description: 'Whether a process holds the scheduler lease (schedules fire)',
      resolve: (h) => h.facts?.schedules.schedulerLeading ?? false,
    }),
    schedulesOverdue: t.int({
      description: 'Active schedules whose next run is more than a minute past',
      resolve: (h) => h.facts?.schedules.overdue ?? 0,
    }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'Health of the control plane (Redis, workers, consumers, schedules); open to everyone',
    resolve: async (_root, _args, ctx) => ({
      ...(await checkHealth(ctx.engine, ctx.redisVersion)),
      redisVersion: ctx.redisVersion,
    }),
  }),
);

builder.queryField('redisMemory', (t) =>
  t.field({
    type: RedisMemoryRef,
    authScopes: { viewer: true },
    description: 'How close Redis is to its memory limit',
    resolve: (_root, _args, ctx) => redisMemory(ctx.redis),
  }),
);

const FindingRef = builder.objectRef<Finding>('Finding').implement({
  description: 'Something an operator can act on: what was seen, and what to change',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Stable code, e.g. no_consumer, high_retry_rate, stalls' }),
    severity: t.exposeString('severity', { description: '"warning" or "info"' }),
    queue: t.exposeString('queue', { nullable: true }),
    type: t.exposeString('type', { nullable: true }),
    evidence: t.exposeString('evidence'),
    suggestion: t.exposeString('suggestion'),
  }),
});

builder.queryField('diagnostics', (t) =>
  t.field({
    type: [FindingRef],
    authScopes: { viewer: true },
    description:
      'Tuning advice: findings from queues, workers, Redis and the last hour of metrics, each with its evidence and a suggested change (taskplane tune)',
    resolve: async (_root, _args, ctx) => {
      const facts = await gatherFacts(ctx.engine, ctx.redisVersion);
      const recent = await readRecentMetrics(
        ctx.metrics,
        facts.queues.map((q) => q.name),
        ctx.registry.list().map((type) => type.name),
        facts.at,
      );
      return diagnose(facts, recent, ctx.config);
    },
  }),
);
