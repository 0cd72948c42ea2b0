import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: the stable address clients are given. */
  url: string;
  /**
   * Drops every connection through the proxy at once (no close frame, as a dead load balancer or a
   * pulled cable would) and refuses new ones until `restore`.
   */
  cut(): void;
  /** Accepts connections again after `cut`. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on a fixed local port to `127.0.0.1:<target()>`, read per connection (a restarted
 * upstream may listen elsewhere); a connection dies with its upstream.
 */
export async function tcpProxy(target: () => number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(target(), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      refusing = true;
      dropAll();
    },
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
