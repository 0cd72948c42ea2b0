/**
 * The raw part of the submit bench, run as its own process so its CPU is measured apart from the
 * load generator: a bare graphql-yoga server whose one mutation calls BullMQ `queue.add` with the
 * job options Taskplane's engine gives a task. Prints `listening <port>` when ready.
 *
 *   REDIS_URL=redis://... node --import tsx bench/bare-yoga.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@taskplane/core';
import { Queue } from 'bullmq';
import { createSchema, createYoga } from 'graphql-yoga';
import { engineJobOptions, noopEngine } from './lib';

const url = process.env.REDIS_URL!;
const optionsSource = noopEngine(url, 50, 'options');
const jobOptions = engineJobOptions(optionsSource.engine);
const connection = createRedis({ url, role: 'producer' });
const queue = new Queue('products', { connection, prefix: 'raw' });
queue.on('error', () => {});
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Mutation { submitTask(type: String!, url: String!): ID! }
    `,
    resolvers: {
      Mutation: {
        submitTask: async (_: unknown, args: { type: string; url: string }) =>
          (await queue.add(args.type, { url: args.url }, jobOptions())).id,
      },
    },
  }),
});
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
console.log(`listening ${(server.address() as AddressInfo).port}`);
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void Promise.all([queue.close(), optionsSource.close()]).then(() => {
    connection.disconnect();
    process.exit(0);
  });
});
