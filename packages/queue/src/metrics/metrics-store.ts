import { type FieldError, type Keys, type TaskplaneConfig, ValidationError } from '@taskplane/core';
import type { Redis } from 'ioredis';
import type { TaskEngine } from '../task-engine';
import { DurationSketch, type DurationSummary } from './duration-sketch';
import {
  GAUGE_PREFIX,
  HOUR_MS,
  METRIC_COUNTERS,
  type MetricCounter,
  MetricGauge,
  MetricSketch,
  MINUTE_MS,
} from './metric-fields';
import type { QueueGauges } from './queue-gauges';

/** What a series covers: one queue or all, one task type or all. */
export interface MetricsScope {
  queue?: string | null;
  type?: string | null;
}

export type MetricCounts = Record<MetricCounter, number>;

/** One interval of a series, [at, at + step). */
export interface MetricsPoint {
  at: number;
  counts: MetricCounts;
  /** Failed share of the attempts that ended: (failed + retried) / (succeeded + failed + retried); null without any. */
  failureRate: number | null;
  wait: DurationSummary | null;
  run: DurationSummary | null;
  /**
   * The queue gauges last sampled in the interval (summed over queues; the oldest waiting age is
   * the largest, workers alive the whole fleet); null for a task type, or with no sample in it.
   */
  gauges: QueueGauges | null;
}

export type MetricsResolution = 'minute' | 'hour';

export interface MetricsSeries {
  from: number;
  to: number;
  stepMs: number;
  resolution: MetricsResolution;
  points: MetricsPoint[];
}

/** A queue's minute in progress and the one before it. */
export interface RecentMinutes {
  current: MetricsPoint;
  previous: MetricsPoint;
}

/** Figures since a queue began, per task type: what /metrics exposes as counters and histograms. */
export interface MetricsTotals {
  queue: string;
  type: string;
  counts: MetricCounts;
  run: DurationSketch;
  wait: DurationSketch;
}

/** Most points one series may have. */
export const MAX_POINTS = 2_000;
/** Most minute buckets one series reads per queue; longer ranges go by the hour. */
export const MAX_MINUTE_BUCKETS = 3_000;
/** Times a read that raced a fold is tried again before it is taken as it is. */
const FOLD_RACE_RETRIES = 3;

/** A minute or hour bucket's hash. */
export type MetricBucket = Record<string, string>;
type Fields = MetricBucket;

const zeroCounts = (): MetricCounts => Object.fromEntries(METRIC_COUNTERS.map((c) => [c, 0])) as MetricCounts;

const isCounter = (name: string): name is MetricCounter => (METRIC_COUNTERS as string[]).includes(name);

function range(first: number, last: number): number[] {
  const out: number[] = [];
  for (let n = first; n <= last; n++) out.push(n);
  return out;
}

function parseGauges(fields: Fields): QueueGauges | null {
  const read = (g: MetricGauge) => fields[`${GAUGE_PREFIX}${g}`];
  if (read(MetricGauge.Pending) === undefined) return null;
  const n = (g: MetricGauge) => Number(read(g) ?? 0);
  const oldest = read(MetricGauge.OldestWaitingMs);
  return {
    pending: n(MetricGauge.Pending),
    delayed: n(MetricGauge.Delayed),
    running: n(MetricGauge.Running),
    blocked: n(MetricGauge.Blocked),
    deadLettered: n(MetricGauge.DeadLettered),
    oldestWaitingMs: oldest === undefined || oldest === '' ? null : Number(oldest),
    workers: n(MetricGauge.Workers),
    fleet: n(MetricGauge.Fleet),
    slots: n(MetricGauge.Slots),
  };
}

/** The hash fields of one queue's gauges, as the keeper writes them. */
export function gaugeFields(gauges: QueueGauges): string[] {
  return Object.entries(gauges).flatMap(([name, value]) => [
    `${GAUGE_PREFIX}${name}`,
    value === null ? '' : String(value),
  ]);
}

/** Buckets added up: counters and sketches summed, each queue's latest gauges kept. */
class Tally {
  readonly counts = zeroCounts();
  readonly run = new DurationSketch();
  readonly wait = new DurationSketch();
  private readonly gauges = new Map<string, { at: number; gauges: QueueGauges }>();

  constructor(private readonly type: string | null) {}

  add(queue: string, at: number, fields: Fields): void {
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith(GAUGE_PREFIX)) continue;
      const [type, name, bucket] = field.split('|');
      if (this.type !== null && type !== this.type) continue;
      if (bucket === undefined) {
        if (name !== undefined && isCounter(name)) this.counts[name] += Number(value);
      } else if (name === MetricSketch.Run) this.run.add(Number(bucket), Number(value));
      else if (name === MetricSketch.Wait) this.wait.add(Number(bucket), Number(value));
    }
    if (this.type !== null) return;
    const gauges = parseGauges(fields);
    const seen = this.gauges.get(queue);
    if (gauges && (!seen || seen.at <= at)) this.gauges.set(queue, { at, gauges });
  }

  private combinedGauges(): QueueGauges | null {
    const all = [...this.gauges.values()].map((g) => g.gauges);
    if (all.length === 0) return null;
    const sum = (pick: (g: QueueGauges) => number) => all.reduce((n, g) => n + pick(g), 0);
    const ages = all.map((g) => g.oldestWaitingMs).filter((a): a is number => a !== null);
    const fleet = Math.max(...all.map((g) => g.fleet));
    return {
      pending: sum((g) => g.pending),
      delayed: sum((g) => g.delayed),
      running: sum((g) => g.running),
      blocked: sum((g) => g.blocked),
      deadLettered: sum((g) => g.deadLettered),
      oldestWaitingMs: ages.length ? Math.max(...ages) : null,
      // One worker may consume several queues: across queues, the fleet is the count.
      workers: all.length === 1 ? all[0]!.workers : fleet,
      fleet,
      slots: sum((g) => g.slots),
    };
  }

  point(at: number): MetricsPoint {
    const { succeeded, failed, retried } = this.counts;
    const ended = succeeded + failed + retried;
    return {
      at,
      counts: { ...this.counts },
      failureRate: ended ? (failed + retried) / ended : null,
      wait: this.wait.summary(),
      run: this.run.summary(),
      gauges: this.combinedGauges(),
    };
  }
}

/** One point over several minute buckets of a queue (`MetricsStore.minutes`), for one task type or all. */
export function pointOver(
  queue: string,
  type: string | null,
  buckets: Iterable<[minute: number, Fields]>,
): MetricsPoint {
  const tally = new Tally(type);
  let first = Number.POSITIVE_INFINITY;
  for (const [minute, fields] of buckets) {
    tally.add(queue, minute * MINUTE_MS, fields);
    first = Math.min(first, minute);
  }
  return tally.point(Number.isFinite(first) ? first * MINUTE_MS : 0);
}

/** The task types named in a bucket's fields. */
function typesIn(fields: Fields): Set<string> {
  const types = new Set<string>();
  for (const field of Object.keys(fields)) {
    if (!field.startsWith(GAUGE_PREFIX)) types.add(field.split('|')[0]!);
  }
  return types;
}

/**
 * Reads metrics over time (written by scripts/metrics.lua, folded by `MetricsKeeper`): series of
 * minute or hour buckets, the latest minute, and cumulative totals for Prometheus. Reads only the
 * buckets a request names (a bounded number), never the tasks.
 */
export class MetricsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly retention: TaskplaneConfig['metrics'],
    private readonly queues: () => string[],
    private readonly hasType: (type: string) => boolean,
  ) {}

  static of(engine: TaskEngine): MetricsStore {
    return new MetricsStore(
      engine.redis,
      engine.keys,
      engine.config.metrics,
      () => engine.queueNames(),
      (type) => engine.registry.has(type),
    );
  }

  private async readMinutes(queue: string, minutes: number[]): Promise<Fields[]> {
    if (minutes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const m of minutes) pipeline.hgetall(this.keys.metricsMinute(queue, m));
    return ((await pipeline.exec()) ?? []).map(([, fields]) => (fields ?? {}) as Fields);
  }

  /**
   * Folded hashes (hours or totals) together with the minutes not folded into them yet, read in one
   * MULTI with the fold checkpoint, so a fold between the reads neither drops nor doubles a minute.
   */
  private async readFolded(
    queue: string,
    heads: string[],
    firstMinute: number,
    now: number,
  ): Promise<{ heads: Fields[]; minutes: Map<number, Fields> }> {
    const lastMinute = Math.floor(now / MINUTE_MS) + 1;
    const keptFrom = Math.floor((now - this.retention.minute_retention) / MINUTE_MS);
    for (let attempt = 0; ; attempt++) {
      const folded = await this.redis.get(this.keys.metricsFolded(queue));
      const after = folded === null ? keptFrom : Number(folded) + 1;
      const minutes = range(Math.max(after, firstMinute, keptFrom), lastMinute);
      const multi = this.redis.multi().get(this.keys.metricsFolded(queue));
      for (const key of heads) multi.hgetall(key);
      for (const m of minutes) multi.hgetall(this.keys.metricsMinute(queue, m));
      const replies = ((await multi.exec()) ?? []).map(([, value]) => value);
      if (replies[0] !== folded && attempt < FOLD_RACE_RETRIES) continue;
      const hashes = replies.slice(1) as Fields[];
      return {
        heads: hashes.slice(0, heads.length),
        minutes: new Map(minutes.map((m, i) => [m, hashes[heads.length + i]!])),
      };
    }
  }

  private validate(scope: MetricsScope, from: number, to: number, stepMs: number, now: number) {
    const errors: FieldError[] = [];
    const step = stepMs / 1000;
    if (!Number.isInteger(stepMs / MINUTE_MS) || stepMs <= 0) {
      errors.push({
        path: 'step',
        message: `expected a whole number of minutes in seconds (60, 300, 3600...), got ${step}`,
      });
    }
    if (!(to > from)) errors.push({ path: 'to', message: 'must be after from' });
    if (from < now - this.retention.hour_retention) {
      errors.push({
        path: 'from',
        message: `metrics are kept for ${this.retention.hour_retention / HOUR_MS} hours (metrics.hour_retention)`,
      });
    }
    if (scope.queue && !this.queues().includes(scope.queue)) {
      errors.push({
        path: 'scope.queue',
        message: `no queue named ${scope.queue}; known: ${this.queues().join(', ')}`,
      });
    }
    if (scope.type && !this.hasType(scope.type)) {
      errors.push({ path: 'scope.type', message: `no task type named ${scope.type}` });
    }
    const hourly = stepMs % HOUR_MS === 0 || from < now - this.retention.minute_retention;
    if (errors.length === 0) {
      const start = Math.floor(from / stepMs) * stepMs;
      const points = Math.ceil((to - start) / stepMs);
      if (hourly && stepMs % HOUR_MS !== 0) {
        errors.push({
          path: 'step',
          message: `minutes are kept for ${this.retention.minute_retention / HOUR_MS} hours (metrics.minute_retention): an older range needs a step of whole hours (3600, 7200...)`,
        });
      } else if (points > MAX_POINTS) {
        errors.push({
          path: 'step',
          message: `the range has ${points} steps; at most ${MAX_POINTS}: widen the step or narrow the range`,
        });
      } else if (!hourly && (to - start) / MINUTE_MS > MAX_MINUTE_BUCKETS) {
        errors.push({
          path: 'step',
          message: `a range over ${MAX_MINUTE_BUCKETS} minutes needs a step of whole hours (3600, 7200...)`,
        });
      }
    }
    if (errors.length)
      throw new ValidationError(
        `invalid metrics range: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        errors,
      );
    return { hourly, start: Math.floor(from / stepMs) * stepMs };
  }

  /**
   * A series from `from` to `to` in steps of `stepMs` (a whole number of minutes; points start at
   * multiples of the step since the epoch). Minute buckets unless the step is whole hours or the
   * range starts before `metrics.minute_retention`; at most `MAX_POINTS` points. Refused with a
   * `ValidationError` naming the argument otherwise.
   */
  async series(
    scope: MetricsScope,
    from: number,
    to: number,
    stepMs: number,
    now = Date.now(),
  ): Promise<MetricsSeries> {
    const { hourly, start } = this.validate(scope, from, to, stepMs, now);
    const count = Math.ceil((to - start) / stepMs);
    const tallies = range(0, count - 1).map(() => new Tally(scope.type ?? null));
    const add = (queue: string, at: number, fields: Fields) => {
      const i = Math.floor((at - start) / stepMs);
      if (i >= 0 && i < count) tallies[i]!.add(queue, at, fields);
    };
    const queues = scope.queue ? [scope.queue] : this.queues();
    await Promise.all(
      queues.map(async (queue) => {
        if (hourly) {
          const hours = range(Math.floor(start / HOUR_MS), Math.ceil(to / HOUR_MS) - 1);
          const read = await this.readFolded(
            queue,
            hours.map((h) => this.keys.metricsHour(queue, h)),
            hours[0]! * 60,
            now,
          );
          for (const [i, h] of hours.entries()) add(queue, h * HOUR_MS, read.heads[i]!);
          for (const [m, fields] of read.minutes) add(queue, m * MINUTE_MS, fields);
        } else {
          const minutes = range(Math.floor(start / MINUTE_MS), Math.ceil(to / MINUTE_MS) - 1);
          const read = await this.readMinutes(queue, minutes);
          for (const [i, m] of minutes.entries()) add(queue, m * MINUTE_MS, read[i]!);
        }
      }),
    );
    return {
      from: start,
      to,
      stepMs,
      resolution: hourly ? 'hour' : 'minute',
      points: tallies.map((t, i) => t.point(start + i * stepMs)),
    };
  }

  /** One queue's minute buckets `first` to `last` (minute numbers), each read whole; empty ones are `{}`. */
  async minutes(queue: string, first: number, last: number): Promise<Map<number, Fields>> {
    const minutes = range(first, last);
    const read = await this.readMinutes(queue, minutes);
    return new Map(minutes.map((m, i) => [m, read[i]!]));
  }

  /** Each queue's minute in progress and the one before it (for `queueStats`). */
  async recentMinutes(queues: string[], now = Date.now()): Promise<Map<string, RecentMinutes>> {
    const minute = Math.floor(now / MINUTE_MS);
    const out = new Map<string, RecentMinutes>();
    await Promise.all(
      queues.map(async (queue) => {
        const [previous, current] = await this.readMinutes(queue, [minute - 1, minute]);
        const point = (fields: Fields, m: number) => {
          const tally = new Tally(null);
          tally.add(queue, m * MINUTE_MS, fields);
          return tally.point(m * MINUTE_MS);
        };
        out.set(queue, { previous: point(previous!, minute - 1), current: point(current!, minute) });
      }),
    );
    return out;
  }

  /**
   * Cumulative figures per queue and task type since the queue began: the folded totals plus the
   * minutes not folded yet, read consistently (see `readFolded`). Counters only grow, as
   * Prometheus expects, whichever API process answers.
   */
  async totals(now = Date.now()): Promise<MetricsTotals[]> {
    const perQueue = await Promise.all(
      this.queues().map(async (queue) => {
        const read = await this.readFolded(queue, [this.keys.metricsTotals(queue)], -Infinity, now);
        const buckets = [read.heads[0]!, ...read.minutes.values()];
        const types = new Set(buckets.flatMap((fields) => [...typesIn(fields)]));
        return [...types].sort().map((type) => {
          const tally = new Tally(type);
          for (const fields of buckets) tally.add(queue, 0, fields);
          return { queue, type, counts: tally.counts, run: tally.run, wait: tally.wait };
        });
      }),
    );
    return perQueue.flat();
  }
}
