import { parse, positionals } from './args';
import type { CommandContext } from './commands';
import { paint, show, status, table } from './output';

/** How long one probe may take before it counts as down: a probe must answer, not hang. */
const PROBE_TIMEOUT_MS = 5_000;

const CheckState = { Ok: 'ok', Warning: 'warning', Down: 'down' } as const;
type CheckState = (typeof CheckState)[keyof typeof CheckState];

interface Check {
  name: 'api' | 'redis' | 'workers' | 'queues';
  state: CheckState;
  detail: string;
}

interface Readiness {
  ready: boolean;
  /** "ok", "degraded" or "down" (Redis not reachable). */
  status: string;
  workers: number;
  reasons: string[];
}

async function readiness(graphqlUrl: string): Promise<Readiness | Error> {
  try {
    const response = await fetch(new URL('/readyz', graphqlUrl), {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return (await response.json()) as Readiness;
  } catch (error) {
    return error as Error;
  }
}

/**
 * `taskplane health`: the API (`/readyz`), Redis and workers (the `health` query and `/readyz`),
 * and queues nobody consumes (`queues` against `workers`). Exit 1 when the API or Redis is down, no
 * worker is online, or a queue with pending tasks has no consumer; a queue without consumer and
 * without work is only a warning, since `worker start --queues` deployments leave some queues idle.
 */
export async function health(context: CommandContext): Promise<number> {
  positionals(parse(context.argv, {}), []);
  const { url } = context;
  const checks: Check[] = [];
  const ready = await readiness(url);
  if (ready instanceof Error) {
    checks.push({ name: 'api', state: CheckState.Down, detail: `${url}: ${ready.cause ?? ready.message}` });
  } else {
    checks.push({ name: 'api', state: CheckState.Ok, detail: url });
    const redisDown = ready.status === 'down';
    let version = '';
    if (!redisDown) {
      try {
        version = `Redis ${(await context.client.health()).redisVersion}`;
      } catch {
        version = 'reachable';
      }
    }
    checks.push({
      name: 'redis',
      state: redisDown ? CheckState.Down : CheckState.Ok,
      detail: redisDown ? 'not reachable from the API' : version,
    });
    checks.push({
      name: 'workers',
      state: redisDown ? CheckState.Down : ready.workers > 0 ? CheckState.Ok : CheckState.Down,
      detail: redisDown ? 'unknown while Redis is down' : `${ready.workers} online`,
    });
    if (!redisDown) checks.push(await queueCheck(context));
  }
  const healthy = checks.every((c) => c.state !== CheckState.Down);
  show(context.output, { healthy, checks }, () => {
    table(
      context.output,
      ['CHECK', 'STATE', 'DETAIL'],
      checks.map((c) => [c.name, status(context.output, c.state), c.detail]),
    );
    context.output.out(
      healthy ? paint(context.output, 'green', 'healthy') : paint(context.output, 'red', 'unhealthy'),
    );
  });
  return healthy ? 0 : 1;
}

async function queueCheck(context: CommandContext): Promise<Check> {
  try {
    const [queues, workers] = await Promise.all([context.client.queues(), context.client.workers()]);
    const consumed = new Set(workers.flatMap((w) => w.queues));
    const idle = queues.filter((q) => !consumed.has(q.name));
    const stuck = idle.filter((q) => q.counts.pending > 0);
    if (!idle.length) return { name: 'queues', state: CheckState.Ok, detail: `${queues.length} consumed` };
    return {
      name: 'queues',
      state: stuck.length ? CheckState.Down : CheckState.Warning,
      detail: `no consumer: ${idle.map((q) => `${q.name} (${q.counts.pending} pending)`).join(', ')}`,
    };
  } catch (error) {
    return { name: 'queues', state: CheckState.Warning, detail: `not checked: ${(error as Error).message}` };
  }
}
