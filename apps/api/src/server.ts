import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@taskplane/core';
import { checkHealth } from '@taskplane/queue';
import type { Services } from './context';
import { ApiMetrics } from './metrics';
import { RateLimiter } from './rate-limit';
import { handleRest } from './rest';
import { taskMetricsText } from './task-metrics';
import { attachWebSocket } from './ws';
import { createGraphQL } from './yoga';

export interface ApiServer {
  http: Server;
  metrics: ApiMetrics;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (!response.body) {
    res.end();
    return;
  }
  // Streams (SSE subscriptions) are written as they come.
  const reader = response.body.getReader();
  res.on('close', () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}

function plain(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * The API process's one port: `/graphql` (HTTP and WebSocket), `/api/*` (REST facade), `/healthz`,
 * `/readyz` and `/metrics`.
 */
export function createApiServer(services: Services, logger: Logger): ApiServer {
  const metrics = new ApiMetrics(() => services.hub.delivered);
  const limiter = new RateLimiter(services.config.api.rate_limit_per_minute);
  const yoga = createGraphQL(services, metrics, limiter, logger);
  const maxBody = services.config.api.max_body_bytes;

  const route = async (req: IncomingMessage, url: URL): Promise<Response> => {
    if (url.pathname === '/healthz') return plain(200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const health = await checkHealth(services.engine, services.redisVersion);
      return plain(health.status === 'ok' ? 200 : 503, {
        ready: health.status === 'ok',
        status: health.status,
        workers: health.facts?.workers.length ?? 0,
        reasons: health.reasons,
      });
    }
    if (url.pathname === '/metrics') {
      const [own, tasks] = await Promise.all([
        metrics.registry.metrics(),
        taskMetricsText(services.metrics, services.engine),
      ]);
      return new Response(`${own}\n${tasks}`, {
        headers: { 'content-type': metrics.registry.contentType },
      });
    }
    const body = await readBody(req, maxBody);
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(key, value);
      else if (Array.isArray(value)) headers.set(key, value.join(', '));
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: body?.length ? new Uint8Array(body) : undefined,
    });
    const rest = await handleRest(request, yoga);
    if (rest) {
      metrics.requests.inc({ transport: 'rest', outcome: rest.status < 400 ? 'ok' : 'error' });
      return rest;
    }
    if (url.pathname === yoga.graphqlEndpoint) {
      const response = await yoga.fetch(request, {});
      metrics.requests.inc({ transport: 'http', outcome: response.status < 400 ? 'ok' : 'error' });
      return response;
    }
    return plain(404, { error: { code: 'NOT_FOUND', message: `nothing at ${url.pathname}` } });
  };

  /**
   * A GraphQL request whose body size is known and within the limit goes straight to Yoga's Node
   * adapter: no copy of the body, no Request built and no Response piped here. Chunked bodies of
   * unknown size take the route below, which reads them against the limit first.
   */
  const direct = (req: IncomingMessage, path: string): boolean => {
    if (path !== yoga.graphqlEndpoint) return false;
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return true;
    const declared = req.headers['content-length'];
    return declared !== undefined && Number(declared) <= maxBody;
  };
  const serveGraphQL = (req: IncomingMessage, res: ServerResponse): void => {
    const timer = metrics.latency.startTimer({ route: yoga.graphqlEndpoint });
    // A server-sent event stream lasts as long as its subscription: it is not a request duration.
    // (Yoga answers with one when asked for text/event-stream; its headers go out by writeHead.)
    const stream = req.headers.accept?.includes('text/event-stream') ?? false;
    res.once('finish', () => {
      if (!stream) timer();
      metrics.requests.inc({ transport: 'http', outcome: res.statusCode < 400 ? 'ok' : 'error' });
    });
    // `handle` answers synchronously when it can (no promise then).
    Promise.resolve(yoga.handle(req, res, {})).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      if (res.headersSent) res.destroy();
      else
        void send(
          res,
          plain(500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL' } }] }),
        );
    });
  };

  const http = createServer((req, res) => {
    // The path as sent decides the direct route: parsing a URL per request cost a GraphQL request
    // about a tenth of what Yoga's own handling costs. A path spelled otherwise (`/a/../graphql`)
    // takes the route below, which parses it.
    const raw = req.url ?? '/';
    const query = raw.indexOf('?');
    if (direct(req, query === -1 ? raw : raw.slice(0, query))) {
      serveGraphQL(req, res);
      return;
    }
    const url = new URL(raw, `http://${req.headers.host ?? 'localhost'}`);
    const timer = metrics.latency.startTimer({
      route: url.pathname.startsWith('/api/') ? '/api' : url.pathname,
    });
    // A server-sent event stream lasts as long as its subscription: it is not a request duration.
    let stream = false;
    route(req, url)
      .catch((error: unknown) => {
        if (error instanceof BodyTooLarge) {
          return plain(413, {
            errors: [
              {
                message: `request body is larger than ${maxBody} bytes`,
                extensions: { code: 'PAYLOAD_TOO_LARGE' },
              },
            ],
          });
        }
        logger.error({ err: error }, 'request failed');
        return plain(500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL' } }] });
      })
      .then((response) => {
        stream = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
        return send(res, response);
      })
      .catch(() => res.destroy())
      .finally(() => {
        if (!stream) timer();
      });
  });
  const ws = attachWebSocket(http, yoga, services, metrics, limiter, logger);

  return {
    http,
    metrics,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          const address = http.address();
          const actual = typeof address === 'object' && address ? address.port : port;
          resolve(`http://${host}:${actual}`);
        });
      }),
    async close() {
      await ws.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
