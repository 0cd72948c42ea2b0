/**
 * The raw parts of the fan-out bench, each a process of its own so its RSS is its own: `ws` is a bare
 * `ws` server that sends every message of a Redis channel to every socket; `graphql-ws` is a plain
 * graphql-ws server (`useServer`) with one trivial subscription, `tick { at }`, fed by the same
 * channel through an in-memory emitter (one async iterator per subscriber, as such servers are
 * usually written). Both hold one Redis subscription. Prints `listening <port>` when ready.
 *
 *   REDIS_URL=redis://... node --import tsx bench/fanout-server.ts ws|graphql-ws
 */
import { EventEmitter, on } from 'node:events';
import { createServer } from 'node:http';
import { createRedis } from '@taskplane/core';
import { GraphQLFloat, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { FANOUT_CHANNEL, ws } from './lib';

const kind = process.argv[2];
const subscriber = createRedis({ url: process.env.REDIS_URL!, role: 'subscriber' });
const http = createServer();
const wss = new ws.WebSocketServer({ server: http, path: '/graphql' });

if (kind === 'ws') {
  subscriber.on('message', (_channel: string, message: string) => {
    // Encoded once for every socket, as a careful broadcaster does.
    const frame = Buffer.from(message);
    for (const socket of wss.clients) if (socket.readyState === ws.WebSocket.OPEN) socket.send(frame);
  });
} else {
  const ticks = new EventEmitter();
  ticks.setMaxListeners(0);
  subscriber.on('message', (_channel: string, message: string) => ticks.emit('tick', JSON.parse(message)));
  const Tick = new GraphQLObjectType({ name: 'Tick', fields: { at: { type: GraphQLFloat } } });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: Tick,
          subscribe: async function* () {
            for await (const [tick] of on(ticks, 'tick')) yield { tick };
          },
        },
      },
    }),
  });
  useServer({ schema }, wss as unknown as Parameters<typeof useServer>[1]);
}

await subscriber.subscribe(FANOUT_CHANNEL);
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const address = http.address();
console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
process.on('SIGTERM', () => {
  for (const socket of wss.clients) socket.terminate();
  subscriber.disconnect();
  http.close(() => process.exit(0));
});
