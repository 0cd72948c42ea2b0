import type { PresenceChange, WorkerPresence } from '@taskplane/queue';
import { listWorkers, PresenceKind } from '@taskplane/queue';
import { builder } from '../builder';

const WorkerConcurrencyRef = builder
  .objectRef<{ queue: string; concurrency: number }>('WorkerQueueConcurrency')
  .implement({
    fields: (t) => ({ queue: t.exposeString('queue'), concurrency: t.exposeInt('concurrency') }),
  });

export const WorkerRef = builder.objectRef<WorkerPresence>('Worker').implement({
  description: 'A worker process, as its heartbeat announces it',
  fields: (t) => ({
    id: t.exposeID('id'),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
    queues: t.exposeStringList('queues'),
    concurrency: t.field({
      type: [WorkerConcurrencyRef],
      resolve: (w) => Object.entries(w.concurrency).map(([queue, concurrency]) => ({ queue, concurrency })),
    }),
    runningTasks: t.exposeStringList('runningTasks', { description: 'Ids of the tasks it runs now' }),
    memoryRss: t.exposeFloat('memoryRss', { description: 'Resident memory, bytes' }),
    startedAt: t.field({ type: 'DateTime', resolve: (w) => w.startedAt }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (w) => w.lastSeenAt }),
  }),
});

const PresenceKindEnum = builder.enumType('WorkerPresenceKind', {
  values: {
    ONLINE: { value: PresenceKind.Online },
    HEARTBEAT: { value: PresenceKind.Heartbeat },
    OFFLINE: { value: PresenceKind.Offline },
  } as const,
});

const WorkerChangeRef = builder.objectRef<PresenceChange>('WorkerChange').implement({
  fields: (t) => ({
    kind: t.field({ type: PresenceKindEnum, resolve: (c) => c.kind }),
    worker: t.field({ type: WorkerRef, resolve: (c) => c.worker }),
  }),
});

builder.queryField('workers', (t) =>
  t.field({
    type: [WorkerRef],
    authScopes: { viewer: true },
    description: 'Worker processes online now',
    resolve: (_root, _args, ctx) => listWorkers(ctx.redis, ctx.keys),
  }),
);

builder.subscriptionField('workers', (t) =>
  t.field({
    type: WorkerChangeRef,
    authScopes: { viewer: true },
    description:
      'Workers coming online, beating and going offline (also when killed: their heartbeat expires)',
    subscribe: async function* (_root, _args, ctx) {
      const feed = ctx.presence.subscribe();
      try {
        for (const worker of await listWorkers(ctx.redis, ctx.keys))
          yield { kind: PresenceKind.Online, worker };
        yield* feed;
      } finally {
        feed.close();
      }
    },
    resolve: (change) => change as PresenceChange,
  }),
);
