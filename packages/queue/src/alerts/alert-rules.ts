import { randomBytes } from 'node:crypto';
import {
  type AlertRule,
  AlertRuleInput,
  ConflictError,
  type FieldError,
  fieldErrors,
  type Keys,
  NotFoundError,
  type TaskplaneConfig,
  ValidationError,
} from '@taskplane/core';
import type { Redis } from 'ioredis';

/** Id prefix of configured rules (`config:<name>`); they change only in configuration. */
export const CONFIG_RULE_PREFIX = 'config:';

/**
 * The rules of `alerts.rules` as the evaluator runs them: window, for and cooldown from
 * `alerts.defaults` when unset, and the thresholds of `failure_rate`, `queue_size` and
 * `avg_duration` rules from `monitoring.alerts` (the loader already refused a rule without one).
 */
export function configRules(config: TaskplaneConfig): AlertRule[] {
  const fallback = config.monitoring.alerts as Record<string, number>;
  return Object.entries(config.alerts.rules).map(([name, rule]) =>
    completeRule(config, {
      id: `${CONFIG_RULE_PREFIX}${name}`,
      name,
      source: 'config',
      ...rule,
      scope: { queue: rule.queue, type: rule.type, labels: rule.labels },
      threshold: rule.threshold ?? fallback[rule.metric] ?? 0,
      windowMs: rule.window,
      forMs: rule.for,
      cooldownMs: rule.cooldown,
    }),
  );
}

type Durations = 'windowMs' | 'forMs' | 'cooldownMs';

/** A rule with the durations it does not set taken from `alerts.defaults`, and not muted. */
function completeRule(
  config: TaskplaneConfig,
  rule: Omit<AlertRule, Durations | 'mutedUntil'> & Partial<Record<Durations, number | undefined>>,
): AlertRule {
  const { defaults } = config.alerts;
  return {
    id: rule.id,
    name: rule.name,
    source: rule.source,
    metric: rule.metric,
    scope: rule.scope,
    comparison: rule.comparison,
    threshold: rule.threshold,
    windowMs: rule.windowMs ?? defaults.window,
    forMs: rule.forMs ?? defaults.for,
    cooldownMs: rule.cooldownMs ?? defaults.cooldown,
    severity: rule.severity,
    mutedUntil: null,
    enabled: rule.enabled,
  };
}

function invalid(fields: FieldError[]): ValidationError {
  return new ValidationError(
    `invalid alert rule: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
    fields,
  );
}

export interface AlertRuleStoreOptions {
  redis: Redis;
  keys: Keys;
  config: TaskplaneConfig;
  queues: () => string[];
  hasType: (type: string) => boolean;
}

/**
 * Alert rules: the configured ones (not stored; they change with the configuration) and those made
 * through the API (a hash of JSON by id). Mutes apply to both and live in their own hash.
 */
export class AlertRuleStore {
  constructor(private readonly options: AlertRuleStoreOptions) {}

  /** Every rule, configured first, with its mute applied. */
  async list(): Promise<AlertRule[]> {
    const { redis, keys, config } = this.options;
    const [stored, mutes] = await Promise.all([
      redis.hgetall(keys.alertRules),
      redis.hgetall(keys.alertMutes),
    ]);
    const rules = [
      ...configRules(config),
      ...Object.values(stored)
        .map((json) => JSON.parse(json) as AlertRule)
        .sort((a, b) => a.id.localeCompare(b.id)),
    ];
    return rules.map((rule) => {
      const until = mutes[rule.id];
      return until ? { ...rule, mutedUntil: Number(until) } : rule;
    });
  }

  async get(id: string): Promise<AlertRule | null> {
    return (await this.list()).find((rule) => rule.id === id) ?? null;
  }

  private parse(input: unknown, base: Partial<AlertRuleInput> = {}): AlertRule {
    const parsed = AlertRuleInput.safeParse({ ...base, ...(input as object) });
    if (!parsed.success) throw invalid(fieldErrors(parsed.error));
    const rule = parsed.data;
    const fields: FieldError[] = [];
    const { queues, hasType, config } = this.options;
    if (rule.scope.queue && !queues().includes(rule.scope.queue))
      fields.push({
        path: 'scope.queue',
        message: `no queue named ${rule.scope.queue}; known: ${queues().join(', ')}`,
      });
    if (rule.scope.type && !hasType(rule.scope.type))
      fields.push({ path: 'scope.type', message: `no task type named ${rule.scope.type}` });
    if (fields.length) throw invalid(fields);
    return completeRule(config, { ...rule, id: '', source: 'api' });
  }

  /** Create a rule; a bad field is a `ValidationError` naming it. */
  async create(input: unknown): Promise<AlertRule> {
    const rule = { ...this.parse(input), id: `rule_${randomBytes(6).toString('hex')}` };
    await this.options.redis.hset(this.options.keys.alertRules, rule.id, JSON.stringify(rule));
    return rule;
  }

  private async stored(id: string): Promise<AlertRule> {
    if (id.startsWith(CONFIG_RULE_PREFIX))
      throw new ConflictError(`${id} is configured (alerts.rules); change it there, or mute it`);
    const json = await this.options.redis.hget(this.options.keys.alertRules, id);
    if (!json) throw new NotFoundError(`no alert rule ${id}`);
    return JSON.parse(json) as AlertRule;
  }

  /** Change the given fields of a rule made through the API; the others stay. */
  async update(id: string, input: unknown): Promise<AlertRule> {
    const current = await this.stored(id);
    const base: Partial<AlertRuleInput> = {
      name: current.name,
      metric: current.metric,
      scope: current.scope,
      comparison: current.comparison,
      threshold: current.threshold,
      windowMs: current.windowMs,
      forMs: current.forMs,
      cooldownMs: current.cooldownMs,
      severity: current.severity,
      enabled: current.enabled,
    };
    const rule = { ...this.parse(input, base), id };
    await this.options.redis.hset(this.options.keys.alertRules, id, JSON.stringify(rule));
    return (await this.get(id)) ?? rule;
  }

  /** Delete a rule made through the API; its firing alerts resolve at the next evaluation. */
  async delete(id: string): Promise<AlertRule> {
    const rule = await this.stored(id);
    const { redis, keys } = this.options;
    await redis.multi().hdel(keys.alertRules, id).hdel(keys.alertMutes, id).exec();
    return rule;
  }

  /** Mute any rule until `until` (epoch ms); null or a past time unmutes. */
  async mute(id: string, until: number | null): Promise<AlertRule> {
    if (!(await this.get(id))) throw new NotFoundError(`no alert rule ${id}`);
    const { redis, keys } = this.options;
    if (until === null || until <= Date.now()) await redis.hdel(keys.alertMutes, id);
    else await redis.hset(keys.alertMutes, id, until);
    return (await this.get(id))!;
  }
}
