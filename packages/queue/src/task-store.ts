import { type Keys, NotFoundError, type Task, type TaskFilter } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { lastErrorMessage, parseTaskRecord } from './task-record';

/** A page of tasks, newest first. `nextCursor` is null on the last page. */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
  /** How many index entries were read to fill the page (bounded by `maxScan`). */
  scanned: number;
}

export interface ListOptions {
  first?: number;
  after?: string | null;
  /** Stop after reading this many index entries even if the page is not full. */
  maxScan?: number;
}

export interface LogLine {
  at: number;
  line: string;
}

const BATCH = 200;

function encodeCursor(score: number, id: string): string {
  return Buffer.from(`${score}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { score: number; id: string } | null {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.indexOf(':');
  const score = Number(text.slice(0, at));
  return at > 0 && Number.isFinite(score) ? { score, id: text.slice(at + 1) } : null;
}

/** Does the filter name at most one index (and a time range), so the index alone answers it? */
function oneIndexAnswers(filter: TaskFilter): boolean {
  if (filter.errorText) return false;
  if (![filter.status, filter.type, filter.queue].every((f) => !f || f.length <= 1)) return false;
  const named = [
    filter.status?.length,
    filter.type?.length,
    filter.queue?.length,
    Object.keys(filter.labels ?? {}).length,
  ];
  return named.filter((n) => n).length <= 1;
}

export function matchesFilter(task: Task, filter: TaskFilter): boolean {
  if (filter.status?.length && !filter.status.includes(task.status)) return false;
  if (filter.type?.length && !filter.type.includes(task.type)) return false;
  if (filter.queue?.length && !filter.queue.includes(task.queue)) return false;
  if (filter.createdAfter !== undefined && task.createdAt < filter.createdAfter) return false;
  if (filter.createdBefore !== undefined && task.createdAt >= filter.createdBefore) return false;
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    if (task.labels[key] !== value) return false;
  }
  if (filter.errorText) {
    const message = lastErrorMessage(task);
    if (!message?.toLowerCase().includes(filter.errorText.toLowerCase())) return false;
  }
  return true;
}

/** Reads task records and their indexes. Never scans the keyspace: every list walks one index. */
export class TaskStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async get(id: string): Promise<Task | null> {
    return parseTaskRecord(await this.redis.hgetall(this.keys.task(id)));
  }

  async getOrThrow(id: string): Promise<Task> {
    const task = await this.get(id);
    if (!task) throw new NotFoundError(`no task with id ${id}`);
    return task;
  }

  async getMany(ids: string[]): Promise<(Task | null)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.task(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, hash]) => (error ? null : parseTaskRecord(hash as Record<string, string>)));
  }

  /** The children a task fanned out, oldest first. */
  async children(id: string, limit = 1000): Promise<Task[]> {
    const ids = await this.redis.zrange(this.keys.indexParent(id), 0, limit - 1);
    return (await this.getMany(ids)).filter((t): t is Task => t !== null);
  }

  async logs(id: string, from = 0, count = 1000): Promise<LogLine[]> {
    const lines = await this.redis.lrange(this.keys.taskLog(id), from, from + count - 1);
    return lines.map((l) => JSON.parse(l) as LogLine);
  }

  /** The index to walk: the smallest one that every matching task is in. */
  private async drivingIndex(filter: TaskFilter): Promise<string> {
    const candidates: string[] = [];
    for (const [key, value] of Object.entries(filter.labels ?? {}))
      candidates.push(this.keys.indexLabel(key, value));
    if (filter.type?.length === 1) candidates.push(this.keys.indexType(filter.type[0]!));
    if (filter.queue?.length === 1) candidates.push(this.keys.indexQueue(filter.queue[0]!));
    if (filter.status?.length === 1) candidates.push(this.keys.indexStatus(filter.status[0]!));
    if (candidates.length === 0) return this.keys.indexAll;
    if (candidates.length === 1) return candidates[0]!;
    const pipeline = this.redis.pipeline();
    for (const key of candidates) pipeline.zcard(key);
    const sizes = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n));
    let best = 0;
    for (let i = 1; i < sizes.length; i++) if (sizes[i]! < sizes[best]!) best = i;
    return candidates[best]!;
  }

  /** Tasks matching `filter`, newest first, `first` at a time. */
  async list(filter: TaskFilter, options: ListOptions = {}): Promise<TaskPage> {
    const first = Math.min(Math.max(options.first ?? 50, 1), 500);
    const maxScan = options.maxScan ?? 20_000;
    const index = await this.drivingIndex(filter);
    const cursor = options.after ? decodeCursor(options.after) : null;
    let max: number | string = cursor ? cursor.score : (filter.createdBefore ?? '+inf');
    if (!cursor && filter.createdBefore !== undefined) max = `(${filter.createdBefore}`;
    const min = filter.createdAfter ?? '-inf';
    const tasks: Task[] = [];
    let scanned = 0;
    let lastScore = 0;
    let lastId = '';
    let offset = 0;
    let exhausted = false;
    // When the index alone answers the filter every record read is returned: read just a page.
    const batch = oneIndexAnswers(filter) ? first : BATCH;
    while (tasks.length < first && scanned < maxScan) {
      const reply = await this.redis.zrange(
        index,
        max,
        min,
        'BYSCORE',
        'REV',
        'LIMIT',
        offset,
        batch,
        'WITHSCORES',
      );
      if (reply.length === 0) {
        exhausted = true;
        break;
      }
      offset += reply.length / 2;
      const ids: string[] = [];
      const scores: number[] = [];
      for (let i = 0; i < reply.length; i += 2) {
        const id = reply[i]!;
        const score = Number(reply[i + 1]);
        // Within one score REV order is descending by member; skip what the cursor already returned.
        // The walk starts at the cursor's score; ties there that sort at or above the cursor's id
        // (REV order is descending by member) were on earlier pages. Many tasks share a
        // millisecond, so such ties can span more than one batch.
        if (cursor && score === cursor.score && id >= cursor.id) continue;
        ids.push(id);
        scores.push(score);
      }
      const records = await this.getMany(ids);
      for (let i = 0; i < ids.length && tasks.length < first; i++) {
        scanned++;
        lastScore = scores[i]!;
        lastId = ids[i]!;
        const task = records[i];
        if (task && matchesFilter(task, filter)) tasks.push(task);
      }
      if (reply.length / 2 < batch && tasks.length < first) {
        exhausted = true;
        break;
      }
    }
    const nextCursor =
      exhausted && tasks.length < first ? null : lastId ? encodeCursor(lastScore, lastId) : null;
    return { tasks, nextCursor, scanned };
  }

  /** How many tasks match; exact for filters one index answers, otherwise counted by a bounded walk. */
  async count(filter: TaskFilter): Promise<number> {
    if (oneIndexAnswers(filter)) {
      const index = await this.drivingIndex(filter);
      return await this.redis.zcount(
        index,
        filter.createdAfter ?? '-inf',
        filter.createdBefore !== undefined ? `(${filter.createdBefore}` : '+inf',
      );
    }
    let total = 0;
    let after: string | null = null;
    do {
      const page: TaskPage = await this.list(filter, { first: 500, after });
      total += page.tasks.length;
      after = page.nextCursor;
    } while (after);
    return total;
  }
}
