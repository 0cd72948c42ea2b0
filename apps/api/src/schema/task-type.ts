import type { TaskTypeDefinition } from '@taskplane/core';
import { builder } from '../builder';

const TaskTypeRef = builder.objectRef<TaskTypeDefinition>('TaskType').implement({
  description: 'A kind of task the control plane accepts',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    queue: t.exposeString('queue', { description: 'Where its tasks go by default' }),
    paramsSchema: t.field({
      type: 'JSON',
      description: 'JSON Schema of its parameters, to build forms from',
      resolve: (type, _args, ctx) => ctx.registry.jsonSchema(type.name),
    }),
  }),
});

builder.queryField('taskTypes', (t) =>
  t.field({
    type: [TaskTypeRef],
    authScopes: { viewer: true },
    resolve: (_root, _args, ctx) => ctx.registry.list(),
  }),
);
