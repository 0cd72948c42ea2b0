import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type FieldError,
  fieldErrors,
  type Keys,
  NotFoundError,
  nextTick,
  type ParamsLimits,
  paramsLimitErrors,
  parseReporting,
  type Schedule,
  ScheduleChange,
  type ScheduleDefinition,
  type ScheduleFilter,
  ScheduleInput,
  type TaskTypeRegistry,
  type TickOutcome,
  ValidationError,
} from '@taskplane/core';
import type { ScriptedRedis } from '../scripts';
import type { TaskEngine } from '../task-engine';
import {
  encodeScheduleEvent,
  SCHEDULE_EVENT_FIELD,
  SCHEDULE_LOG_MAX_LEN,
  type ScheduleEvent,
  ScheduleEventKind,
} from './schedule-events';

export interface ScheduleStoreOptions {
  redis: ScriptedRedis;
  keys: Keys;
  registry: TaskTypeRegistry;
  /** Every queue a task can go to. */
  queues: () => string[];
  limits: ParamsLimits;
}

export interface SchedulePage {
  schedules: Schedule[];
  /** Pass as `after` for the next page; null on the last. */
  nextCursor: string | null;
}

/** Most schedules a list reads to fill one page of a filtered list. */
const LIST_SCAN_MAX = 5_000;
const MAX_PAGE = 500;

function newScheduleId(): string {
  return `sch_${randomBytes(8).toString('hex')}`;
}

function parseRecord(hash: Record<string, string>): Schedule | null {
  if (!hash.def) return null;
  const def = JSON.parse(hash.def) as ScheduleDefinition;
  return {
    id: hash.id!,
    ...def,
    cron: def.cron ?? null,
    intervalMs: def.intervalMs ?? null,
    startAt: def.startAt ?? null,
    endAt: def.endAt ?? null,
    createdAt: Number(hash.createdAt),
    updatedAt: Number(hash.updatedAt),
    nextRunAt: hash.nextRunAt ? Number(hash.nextRunAt) : null,
    lastTaskId: hash.lastTaskId || null,
    lastOutcome: hash.lastOutcome ? (JSON.parse(hash.lastOutcome) as TickOutcome) : null,
  };
}

function validationError(fields: FieldError[]): ValidationError {
  return new ValidationError(
    `invalid schedule: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
    fields,
  );
}

/**
 * Schedules in Redis: a hash each, an index by creation time for lists, a name index (names are
 * unique), and the due index scored by next run time that the scheduler reads. Every change and
 * the event announcing it are written in one MULTI.
 */
export class ScheduleStore {
  readonly redis: ScriptedRedis;
  readonly keys: Keys;

  constructor(private readonly options: ScheduleStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
  }

  /** A store over the engine's connection, task types, queues and params limits. */
  static of(engine: TaskEngine): ScheduleStore {
    return new ScheduleStore({
      redis: engine.redis,
      keys: engine.keys,
      registry: engine.registry,
      queues: () => engine.queueNames(),
      limits: { maxDepth: engine.config.api.max_params_depth, maxBytes: engine.config.api.max_params_bytes },
    });
  }

  /**
   * A definition checked as a whole: its own fields, the task type, its params against the type's
   * schema and the queue. Every problem at once, with paths (`cron`, `task.params.url`).
   */
  validate(input: unknown): ScheduleDefinition {
    const parsed = parseReporting(ScheduleInput, input);
    const fields: FieldError[] = parsed.success ? [] : fieldErrors(parsed.error);
    const task = (input as { task?: { type?: unknown; params?: unknown; queue?: unknown } } | null)?.task;
    if (task && typeof task.type === 'string') {
      if (!this.options.registry.has(task.type)) {
        fields.push({
          path: 'task.type',
          message: `unknown task type; known: ${this.options.registry
            .list()
            .map((t) => t.name)
            .join(', ')}`,
        });
      } else {
        const limits = paramsLimitErrors(task.params ?? {}, this.options.limits);
        if (limits.length) fields.push(...limits.map((f) => ({ ...f, path: `task.${f.path}` })));
        else {
          try {
            this.options.registry.parseParams(task.type, task.params ?? {});
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            fields.push(...error.fields.map((f) => ({ ...f, path: `task.${f.path}` })));
          }
        }
      }
    }
    if (task && typeof task.queue === 'string' && !this.options.queues().includes(task.queue)) {
      fields.push({
        path: 'task.queue',
        message: `unknown queue; known: ${this.options.queues().join(', ')}`,
      });
    }
    if (fields.length || !parsed.success) throw validationError(fields);
    return parsed.data;
  }

  async get(id: string): Promise<Schedule | null> {
    return parseRecord(await this.redis.hgetall(this.keys.schedule(id)));
  }

  async getOrThrow(id: string): Promise<Schedule> {
    const schedule = await this.get(id);
    if (!schedule) throw new NotFoundError(`no schedule with id ${id}`);
    return schedule;
  }

  async getMany(ids: string[]): Promise<(Schedule | null)[]> {
    if (!ids.length) return [];
    const replies =
      (await this.redis.pipeline(ids.map((id) => ['hgetall', this.keys.schedule(id)])).exec()) ?? [];
    return replies.map(([error, hash]) => (error ? null : parseRecord(hash as Record<string, string>)));
  }

  async idByName(name: string): Promise<string | null> {
    return await this.redis.hget(this.keys.scheduleNames, name);
  }

  /** Create a schedule; `ValidationError` with field paths, `ConflictError` when the name is taken. */
  async create(input: unknown, now = Date.now()): Promise<Schedule> {
    const def = this.validate(input);
    const id = newScheduleId();
    await this.claimName(def.name, id);
    const schedule = this.materialise(id, def, now, now, null);
    await this.write(schedule, ScheduleEventKind.Created, null);
    return schedule;
  }

  /** Change a schedule's definition (the result is validated as a whole); the next run is recomputed. */
  async update(id: string, change: unknown, now = Date.now()): Promise<Schedule> {
    const current = await this.getOrThrow(id);
    const parsedChange = parseReporting(ScheduleChange, change);
    if (!parsedChange.success) throw validationError(fieldErrors(parsedChange.error));
    const def = this.validate({
      ...definitionOf(current),
      ...stripUndefined(change as Record<string, unknown>),
    });
    if (def.name !== current.name) await this.claimName(def.name, id);
    const schedule = this.materialise(id, def, current.createdAt, now, current);
    await this.write(schedule, ScheduleEventKind.Updated, def.name !== current.name ? current.name : null);
    return schedule;
  }

  async setPaused(id: string, paused: boolean, now = Date.now()): Promise<Schedule> {
    return await this.update(id, { paused }, now);
  }

  /** Delete a schedule and its tick history; its tasks stay. */
  async delete(id: string): Promise<Schedule> {
    const schedule = await this.getOrThrow(id);
    const event = this.event(ScheduleEventKind.Deleted, schedule);
    await this.redis
      .multi()
      .del(this.keys.schedule(id), this.keys.scheduleTicks(id))
      .zrem(this.keys.schedules, id)
      .zrem(this.keys.schedulesDue, id)
      .eval(
        `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`,
        1,
        this.keys.scheduleNames,
        schedule.name,
        id,
      )
      .xadd(this.keys.schedulesLog, 'MAXLEN', '~', SCHEDULE_LOG_MAX_LEN, '*', SCHEDULE_EVENT_FIELD, event)
      .exec();
    return schedule;
  }

  /** Schedules matching `filter`, newest first, `first` at a time (a bounded walk of the list index). */
  async list(filter: ScheduleFilter = {}, first = 50, after: string | null = null): Promise<SchedulePage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE)
      throw new ValidationError(`first must be between 1 and ${MAX_PAGE}`, [
        { path: 'first', message: `must be between 1 and ${MAX_PAGE}` },
      ]);
    let start = 0;
    if (after) {
      const rank = await this.redis.zrevrank(this.keys.schedules, after);
      if (rank === null)
        throw new ValidationError('after is not a cursor of this list', [
          { path: 'after', message: 'not a cursor of this list' },
        ]);
      start = rank + 1;
    }
    const found: Schedule[] = [];
    const name = filter.name?.toLowerCase();
    for (let scanned = 0; found.length < first && scanned < LIST_SCAN_MAX; ) {
      const batch = Math.max(first * 2, 100);
      const ids = await this.redis.zrange(this.keys.schedules, start, start + batch - 1, 'REV');
      if (!ids.length) return { schedules: found, nextCursor: null };
      scanned += ids.length;
      start += ids.length;
      for (const schedule of await this.getMany(ids)) {
        if (!schedule) continue;
        if (name && !schedule.name.toLowerCase().includes(name)) continue;
        if (filter.type && schedule.task.type !== filter.type) continue;
        if (filter.paused !== undefined && schedule.paused !== filter.paused) continue;
        found.push(schedule);
        if (found.length === first) break;
      }
      if (ids.length < batch && found.length < first) return { schedules: found, nextCursor: null };
    }
    return { schedules: found, nextCursor: found.at(-1)?.id ?? null };
  }

  /** The latest tick outcomes, newest first. */
  async ticks(id: string, count = 20): Promise<TickOutcome[]> {
    const items = await this.redis.lrange(this.keys.scheduleTicks(id), 0, Math.max(0, count - 1));
    return items.map((item) => JSON.parse(item) as TickOutcome);
  }

  /**
   * Record a tick and move the next run from `expected` to `next` in one script call; false when
   * another process recorded this tick first. When the next run is no longer `expected` (the
   * schedule was paused or changed while the tick fired), the outcome is recorded all the same,
   * unless the history already has it, and the next run is left as it is. `expected` null records
   * a manual trigger.
   */
  async recordTick(
    schedule: Schedule,
    expected: number | null,
    next: number | null,
    outcome: TickOutcome,
  ): Promise<boolean> {
    const kind = outcome.kind === 'fired' ? ScheduleEventKind.Fired : ScheduleEventKind.Skipped;
    const event = encodeScheduleEvent({
      kind,
      scheduleId: schedule.id,
      at: outcome.at,
      schedule: null,
      outcome,
    });
    const recorded = await this.redis.tpScheduleTick(
      this.keys.schedule(schedule.id),
      this.keys.schedulesDue,
      this.keys.scheduleTicks(schedule.id),
      this.keys.schedulesLog,
      expected ?? '',
      next ?? '',
      outcome.taskId ?? '',
      JSON.stringify(outcome),
      event,
      100,
      SCHEDULE_LOG_MAX_LEN,
      schedule.id,
    );
    return recorded === 1;
  }

  private materialise(
    id: string,
    def: ScheduleDefinition,
    createdAt: number,
    now: number,
    current: Schedule | null,
  ): Schedule {
    const base: Schedule = {
      id,
      ...def,
      cron: def.cron ?? null,
      intervalMs: def.intervalMs ?? null,
      startAt: def.startAt ?? null,
      endAt: def.endAt ?? null,
      createdAt,
      updatedAt: now,
      nextRunAt: null,
      lastTaskId: current?.lastTaskId ?? null,
      lastOutcome: current?.lastOutcome ?? null,
    };
    if (!def.paused) base.nextRunAt = nextTick(base, now);
    return base;
  }

  /** Take a name for `id`; a name left behind by a schedule that no longer exists is taken over. */
  private async claimName(name: string, id: string): Promise<void> {
    if (await this.redis.hsetnx(this.keys.scheduleNames, name, id)) return;
    const holder = await this.redis.hget(this.keys.scheduleNames, name);
    if (holder === id) return;
    if (holder && (await this.redis.exists(this.keys.schedule(holder))))
      throw new ConflictError(`a schedule named "${name}" exists (${holder})`);
    await this.redis.hset(this.keys.scheduleNames, name, id);
  }

  private event(kind: ScheduleEventKind, schedule: Schedule): string {
    return encodeScheduleEvent({ kind, scheduleId: schedule.id, at: Date.now(), schedule, outcome: null });
  }

  private async write(schedule: Schedule, kind: ScheduleEventKind, oldName: string | null): Promise<void> {
    const def: ScheduleDefinition = definitionOf(schedule);
    const multi = this.redis
      .multi()
      .hset(this.keys.schedule(schedule.id), {
        id: schedule.id,
        def: JSON.stringify(def),
        createdAt: schedule.createdAt,
        updatedAt: schedule.updatedAt,
        nextRunAt: schedule.nextRunAt ?? '',
      })
      .zadd(this.keys.schedules, schedule.createdAt, schedule.id);
    if (schedule.nextRunAt === null) multi.zrem(this.keys.schedulesDue, schedule.id);
    else multi.zadd(this.keys.schedulesDue, schedule.nextRunAt, schedule.id);
    if (oldName) multi.hdel(this.keys.scheduleNames, oldName);
    multi.xadd(
      this.keys.schedulesLog,
      'MAXLEN',
      '~',
      SCHEDULE_LOG_MAX_LEN,
      '*',
      SCHEDULE_EVENT_FIELD,
      this.event(kind, schedule),
    );
    await multi.exec();
  }
}

/** The definition part of a stored schedule. */
export function definitionOf(schedule: Schedule): ScheduleDefinition {
  return {
    name: schedule.name,
    task: schedule.task,
    cron: schedule.cron,
    timezone: schedule.timezone,
    intervalMs: schedule.intervalMs,
    startAt: schedule.startAt,
    endAt: schedule.endAt,
    overlap: schedule.overlap,
    missed: schedule.missed,
    jitterMs: schedule.jitterMs,
    paused: schedule.paused,
  };
}

function stripUndefined(change: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(change ?? {}).filter(([, v]) => v !== undefined));
}

export type { ScheduleEvent };
