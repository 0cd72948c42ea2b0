import type {
  QueueFieldsFragment,
  QueueStatsSubscription,
  RedisMemoryQuery,
  WorkerFieldsFragment,
} from '@taskplane/client';
import { parse, positionals } from './args';
import type { CommandContext } from './commands';
import { paint, table } from './output';

type QueueStats = QueueStatsSubscription['queueStats'][number];

/** Wire-level codes of tune findings (`--json` prints them; scripts may match on them). */
export const TuneCode = {
  NoWorkers: 'no_workers',
  NoConsumer: 'no_consumer',
  PausedWithWork: 'paused_with_work',
  ConcurrencyBelowRateLimit: 'concurrency_below_rate_limit',
  Saturated: 'saturated',
  HighFailureRate: 'high_failure_rate',
  DeadLetters: 'dead_letters',
  RedisMemory: 'redis_memory',
} as const;
export type TuneCode = (typeof TuneCode)[keyof typeof TuneCode];

export interface TuneFinding {
  code: TuneCode;
  severity: 'warning' | 'info';
  /** The queue it is about; null for the whole plane. */
  queue: string | null;
  evidence: string;
  suggestion: string;
}

/** Above this share of failed attempts a queue's retries are worth a look. */
export const FAILURE_RATE_THRESHOLD = 0.2;
/** Above this share of maxmemory Redis is near its limit (noeviction: writes fail at the limit). */
export const REDIS_MEMORY_THRESHOLD = 0.8;

export interface TuneInput {
  queues: QueueFieldsFragment[];
  stats: QueueStats[];
  workers: WorkerFieldsFragment[];
  memory: RedisMemoryQuery['redisMemory'];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** Slots the workers give a queue now: each consumer's concurrency, summed, under the global cap. */
function slots(queue: QueueFieldsFragment, workers: WorkerFieldsFragment[]): number {
  const total = workers
    .filter((w) => w.queues.includes(queue.name))
    .reduce((sum, w) => sum + (w.concurrency.find((c) => c.queue === queue.name)?.concurrency ?? 0), 0);
  return queue.globalConcurrency ? Math.min(total, queue.globalConcurrency) : total;
}

/**
 * What an operator can change, from what the API exposes: queues with their settings and counts,
 * the queueStats window (throughput, failure rate, run time), worker presence and Redis memory.
 * Pure, so each rule is read in one place; issue 13's `diagnostics` query can take these over.
 */
export function diagnose({ queues, stats, workers, memory }: TuneInput): TuneFinding[] {
  const findings: TuneFinding[] = [];
  if (!workers.length) {
    findings.push({
      code: TuneCode.NoWorkers,
      severity: 'warning',
      queue: null,
      evidence: 'no worker process online',
      suggestion: 'start one: taskplane worker start',
    });
  }
  for (const queue of queues) {
    const stat = stats.find((s) => s.name === queue.name);
    const consumers = workers.filter((w) => w.queues.includes(queue.name));
    const capacity = slots(queue, workers);
    const { pending, running, deadLettered } = queue.counts;
    if (workers.length && !consumers.length && pending > 0) {
      findings.push({
        code: TuneCode.NoConsumer,
        severity: 'warning',
        queue: queue.name,
        evidence: `${pending} pending, no worker consumes the queue`,
        suggestion: `taskplane worker start --queues ${queue.name}`,
      });
    }
    if (queue.paused && pending > 0) {
      findings.push({
        code: TuneCode.PausedWithWork,
        severity: 'warning',
        queue: queue.name,
        evidence: `paused with ${pending} pending`,
        suggestion: `taskplane resume ${queue.name}`,
      });
    }
    const avg = stat?.avgDurationMs ?? null;
    if (queue.rateLimit && avg !== null && avg > 0 && consumers.length) {
      // Little's law: tasks in flight = arrival rate × time in the system.
      const needed = Math.ceil((queue.rateLimit.max / queue.rateLimit.durationMs) * avg);
      if (capacity < needed) {
        const perWorker = Math.ceil(needed / consumers.length);
        findings.push({
          code: TuneCode.ConcurrencyBelowRateLimit,
          severity: 'info',
          queue: queue.name,
          evidence: `rate limit ${queue.rateLimit.max} per ${queue.rateLimit.durationMs} ms at ${Math.round(avg)} ms a task needs ${needed} slots; the workers give ${capacity}`,
          suggestion: `taskplane concurrency ${queue.name} ${perWorker}${queue.globalConcurrency && queue.globalConcurrency < needed ? ` --global ${needed}` : ''}`,
        });
      }
    } else if (!queue.rateLimit && capacity > 0 && pending > capacity && running >= capacity) {
      findings.push({
        code: TuneCode.Saturated,
        severity: 'info',
        queue: queue.name,
        evidence: `every slot busy (${running} of ${capacity}) with ${pending} pending`,
        suggestion: `raise concurrency (taskplane concurrency ${queue.name} ${Math.ceil((capacity * 2) / Math.max(consumers.length, 1))}) or start more workers`,
      });
    }
    // The API's own alert (monitoring.alerts.failure_rate, once enough attempts finished) or ours.
    if (stat && (stat.alerts.includes('failure_rate') || stat.failureRate > FAILURE_RATE_THRESHOLD)) {
      findings.push({
        code: TuneCode.HighFailureRate,
        severity: 'warning',
        queue: queue.name,
        evidence: `${pct(stat.failureRate)} of recent attempts failed (retried or dead-lettered)`,
        suggestion: `look at the errors (taskplane tail --queue ${queue.name} --kind failed); raise retry.base_delay if a dependency throttles, or fix the handler`,
      });
    }
    if (deadLettered > 0) {
      findings.push({
        code: TuneCode.DeadLetters,
        severity: 'info',
        queue: queue.name,
        evidence: `${deadLettered} dead-lettered`,
        suggestion: `taskplane dlq list --queue ${queue.name}, then dlq requeue or dlq purge`,
      });
    }
  }
  if (memory.maxBytes && memory.usedBytes / memory.maxBytes > REDIS_MEMORY_THRESHOLD) {
    findings.push({
      code: TuneCode.RedisMemory,
      severity: 'warning',
      queue: null,
      evidence: `Redis uses ${mb(memory.usedBytes)} of ${mb(memory.maxBytes)} (${pct(memory.usedBytes / memory.maxBytes)}); with noeviction, writes fail at the limit`,
      suggestion:
        'raise maxmemory, or keep less: taskplane clean, shorter retention.* or events.stream_max_len',
    });
  }
  return findings;
}

/** The first queueStats snapshot (the API sends its latest as soon as one subscribes). */
async function statsSnapshot(context: CommandContext): Promise<QueueStats[]> {
  const feed = context.client.watchQueueStats();
  try {
    for await (const { queueStats } of feed) return queueStats;
    return [];
  } finally {
    feed.close();
  }
}

/** `taskplane tune [--json]`: findings with their evidence and a suggested change each. */
export async function tune(context: CommandContext): Promise<void> {
  positionals(parse(context.argv, {}), []);
  const [queues, stats, workers, memory] = await Promise.all([
    context.client.queues(),
    statsSnapshot(context),
    context.client.workers(),
    context.client.redisMemory(),
  ]);
  const findings = diagnose({ queues, stats, workers, memory });
  const { output } = context;
  if (output.json) {
    output.out(JSON.stringify({ findings, memory }, null, 2));
    return;
  }
  table(
    output,
    ['SEVERITY', 'QUEUE', 'FINDING', 'EVIDENCE', 'SUGGESTION'],
    findings.map((f) => [
      paint(output, f.severity === 'warning' ? 'yellow' : 'cyan', f.severity),
      f.queue,
      f.code,
      f.evidence,
      f.suggestion,
    ]),
  );
  output.out(findings.length ? `${findings.length} finding(s)` : 'nothing to tune');
}
