import { randomBytes } from 'node:crypto';
import { type Alert, AlertEventKind, type AlertRule, type Logger } from '@taskplane/core';
import { LeaderLease } from '../leader-lease';
import { LeaderLoop } from '../leader-loop';
import type { WorkerPresence } from '../presence';
import type { TaskEngine } from '../task-engine';
import { encodeAlertEvent } from './alert-log';
import { measure } from './alert-measure';
import type { AlertRuleStore } from './alert-rules';
import { type AlertInstanceState, AlertPhase, INITIAL_STATE, stepInstance } from './alert-state';
import { watchWorkers } from './worker-watch';

export interface AlertEvaluatorOptions {
  engine: TaskEngine;
  rules: AlertRuleStore;
  logger: Logger;
  /** Runs after each pass of the leader (webhook dispatch). */
  afterPass?: () => Promise<void>;
}

/** What one pass writes, in one script call (scripts/alerts-commit.lua). */
interface Changes {
  stateSet: [string, string][];
  stateDel: string[];
  firingSet: [string, string][];
  firingDel: string[];
  events: string[];
  workersSet: [string, string][];
  workersDel: string[];
  workersCursor: string | null;
}

/** An instance to step: its key in `Keys.alertState`, its rule and the value it is judged on. */
interface Instance {
  key: string;
  rule: AlertRule;
  queue: string | null;
  workerId: string | null;
  value: number | null;
  labels: Record<string, string>;
  summary: string;
}

const WORKER_KEY = 'w:';

/**
 * A worker_gone rule's instances: one per worker found gone now (value 1), and one per alert it
 * fired earlier, 1 until the rule's window has passed since it fired, then 0 (so it resolves). A
 * death is an event: like "stalled attempts in the window", the alert says a worker died in the
 * last `window`, whatever restarted since.
 */
function goneInstances(
  rule: AlertRule,
  gone: WorkerPresence[],
  states: Map<string, AlertInstanceState>,
  now: number,
): Instance[] {
  const key = (workerId: string) => `${rule.id}|${WORKER_KEY}${workerId}`;
  const event = { ...rule, comparison: 'gt' as const, threshold: 0, forMs: 0, cooldownMs: 0 };
  const earlier = [...states]
    .filter(([k, state]) => k.startsWith(key('')) && state.alert)
    .map(([k, state]) => ({
      key: k,
      rule: event,
      queue: null,
      workerId: state.alert!.workerId,
      value: now - state.alert!.firedAt < rule.windowMs ? 1 : 0,
      labels: state.alert!.labels,
      summary: state.alert!.summary,
    }));
  const found = gone.map((worker) => ({
    key: key(worker.id),
    rule: event,
    queue: null,
    workerId: worker.id,
    value: 1,
    labels: {
      ...rule.scope.labels,
      host: worker.host,
      pid: String(worker.pid),
      queues: worker.queues.join(','),
    },
    summary: `worker ${worker.id} (pid ${worker.pid} on ${worker.host}, queues ${worker.queues.join(', ')}) stopped heartbeating without shutting down`,
  }));
  return [...earlier, ...found];
}

function format(value: number | null): string {
  if (value === null) return 'no value';
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}

const SIGN = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function summaryOf(rule: AlertRule, queue: string | null, value: number | null): string {
  const where = [queue && `queue ${queue}`, rule.scope.type && `type ${rule.scope.type}`]
    .filter(Boolean)
    .join(', ');
  const window = ['failure_rate', 'avg_duration', 'stalled', 'dead_letters'].includes(rule.metric)
    ? ` over ${Math.round(rule.windowMs / 1000)}s`
    : '';
  return `${rule.metric} ${format(value)} ${SIGN[rule.comparison]} ${format(rule.threshold)}${window}${where ? ` (${where})` : ''}`;
}

/**
 * Evaluates every alert rule, one process at a time (a lease; every API process is a candidate),
 * every `alerts.interval`. Each pass reads the instance states and the version they are at,
 * measures, steps each instance (`stepInstance`: hold time, hysteresis, cooldown, mute), and
 * writes the new states, the firing set and the alert events in one script call that is refused
 * unless this process still holds the lease and nothing wrote since its read. A process that takes
 * over continues from the stored states, so an alert never fires twice or goes missing on failover.
 */
export class AlertEvaluator {
  private readonly loop: LeaderLoop;
  private readonly lease: LeaderLease;

  constructor(private readonly options: AlertEvaluatorOptions) {
    const { engine, logger } = options;
    const { alerts } = engine.config;
    this.lease = new LeaderLease(
      engine.redis,
      engine.keys.alertsLease,
      alerts.lease_duration,
      logger,
      'alert evaluator',
    );
    this.loop = new LeaderLoop({
      lease: this.lease,
      pass: async () => {
        await this.pass();
        await options.afterPass?.();
        return alerts.interval;
      },
      followerWaitMs: alerts.interval,
      logger,
      what: 'alert evaluator',
    });
  }

  get isLeader(): boolean {
    return this.loop.isLeader;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One evaluation; false when the commit was refused (lease lost, or another evaluator wrote). */
  async pass(now = Date.now()): Promise<boolean> {
    const { engine, rules: store } = this.options;
    const { redis, keys } = engine;
    const read = await redis
      .multi()
      .get(keys.alertsVersion)
      .hgetall(keys.alertState)
      .hgetall(keys.alertsWorkers)
      .get(keys.alertsWorkersCursor)
      .exec();
    const [version, stateHash, known, workersCursor] = (read ?? []).map(([, value]) => value) as [
      string | null,
      Record<string, string>,
      Record<string, string>,
      string | null,
    ];
    const rules = await store.list();
    const [measured, workers] = await Promise.all([
      measure(engine, rules, now),
      watchWorkers(redis, keys, known, workersCursor),
    ]);
    const instances = new Map<string, Instance>();
    for (const { rule, queue, value } of measured) {
      const key = `${rule.id}|${queue ?? '-'}`;
      const labels = rule.scope.labels;
      instances.set(key, {
        key,
        rule,
        queue,
        workerId: null,
        value,
        labels,
        summary: summaryOf(rule, queue, value),
      });
    }
    const states = new Map(
      Object.entries(stateHash).map(([k, json]) => [k, JSON.parse(json) as AlertInstanceState]),
    );
    for (const rule of rules.filter((r) => r.enabled && r.metric === 'worker_gone')) {
      for (const instance of goneInstances(rule, workers.gone, states, now))
        instances.set(instance.key, instance);
    }

    const changes: Changes = {
      stateSet: [],
      stateDel: [],
      firingSet: [],
      firingDel: [],
      events: [],
      workersSet: workers.workersSet,
      workersDel: workers.workersDel,
      workersCursor: workers.cursor,
    };
    const { margin } = engine.config.alerts;
    for (const instance of instances.values()) {
      const state = states.get(instance.key) ?? INITIAL_STATE;
      const { state: next, event } = stepInstance(state, instance.value, instance.rule, margin, now);
      this.apply(changes, instance, state, next, event, now);
    }
    // Instances no rule measures any more (deleted, disabled, a queue gone): resolve and forget.
    for (const [key, state] of states) {
      if (instances.has(key)) continue;
      if (state.alert && state.phase !== AlertPhase.Ok) this.resolve(changes, state.alert, null, now);
      changes.stateDel.push(key);
    }
    return await this.commit(version ?? '0', changes);
  }

  private apply(
    changes: Changes,
    instance: Instance,
    before: AlertInstanceState,
    next: AlertInstanceState,
    event: AlertEventKind | null,
    now: number,
  ): void {
    let state = next;
    if (event === AlertEventKind.Fired) {
      const { rule } = instance;
      const alert: Alert = {
        id: `alert_${now.toString(36)}${randomBytes(4).toString('hex')}`,
        ruleId: rule.id,
        ruleName: rule.name,
        metric: rule.metric,
        severity: rule.severity,
        queue: instance.queue,
        type: rule.scope.type,
        workerId: instance.workerId,
        labels: instance.labels,
        comparison: rule.comparison,
        threshold: rule.threshold,
        value: instance.value,
        summary: instance.summary,
        firedAt: now,
        resolvedAt: null,
      };
      state = { ...next, alert };
      changes.firingSet.push([alert.id, JSON.stringify(alert)]);
      changes.events.push(encodeAlertEvent(AlertEventKind.Fired, now, alert));
    } else if (event === AlertEventKind.Resolved && next.alert) {
      this.resolve(changes, next.alert, instance.value, now);
      state = { ...next, alert: null };
    }
    // A worker's instance ends with its alert; a queue's is kept for its cooldown.
    if (instance.workerId !== null && state.phase === AlertPhase.Ok) {
      if (before !== INITIAL_STATE) changes.stateDel.push(instance.key);
    } else if (state !== before) {
      changes.stateSet.push([instance.key, JSON.stringify(state)]);
    }
  }

  private resolve(changes: Changes, alert: Alert, value: number | null, now: number): void {
    changes.firingDel.push(alert.id);
    changes.events.push(encodeAlertEvent(AlertEventKind.Resolved, now, { ...alert, value, resolvedAt: now }));
  }

  private async commit(version: string, changes: Changes): Promise<boolean> {
    const { engine, logger } = this.options;
    const { redis, keys, config } = engine;
    const nothing =
      !changes.stateSet.length &&
      !changes.stateDel.length &&
      !changes.events.length &&
      !changes.workersSet.length &&
      !changes.workersDel.length &&
      changes.workersCursor === null;
    if (nothing) return true;
    const [status] = await redis.tpAlertsCommit(
      keys.alertsLease,
      keys.alertsVersion,
      keys.alertState,
      keys.alertsFiring,
      keys.alertsLog,
      keys.alertsWorkers,
      keys.alertsWorkersCursor,
      this.lease.owner,
      version,
      config.alerts.log_max_len,
      JSON.stringify(changes),
    );
    if (status !== 0) {
      logger.info({ status }, 'alert evaluation not committed (the lease moved or another evaluator wrote)');
      return false;
    }
    return true;
  }
}
