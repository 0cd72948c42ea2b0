import {
  type Keys,
  lastAttemptError,
  NotFoundError,
  type Task,
  type TaskFilter,
  ValidationError,
} from '@taskplane/core';
import type { Redis } from 'ioredis';
import { inOneWrite } from './one-write';
import { parseTaskRecord } from './task-record';

/** A page of tasks, newest first. `nextCursor` is null on the last page. */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
  /** How many index entries were read to fill the page (bounded by `maxScan`). */
  scanned: number;
}

/** A count of matching tasks; `exact: false` means "at least `count`" (see `TaskStore.count`). */
export interface TaskCount {
  count: number;
  exact: boolean;
}

/** Index entries a count reads at most before answering "at least". */
export const COUNT_SCAN_MAX = 100_000;

export interface ListOptions {
  first?: number;
  after?: string | null;
  /** Stop after reading this many index entries even if the page is not full. */
  maxScan?: number;
  /** Newest first by creation (default), or dead letters newest first by when they were dead-lettered. */
  order?: 'created' | 'deadLettered';
}

export interface LogLine {
  at: number;
  line: string;
}

const BATCH = 200;
/** Intersect index conditions in Redis when the smallest index holds at most this many tasks. */
const INTERSECT_MAX = 20_000;

function encodeCursor(score: number, id: string): string {
  return Buffer.from(`${score}:${id}`).toString('base64url');
}

/** Largest page `list` returns (the GraphQL schema documents it for `tasks` and `deadLetters`). */
export const MAX_PAGE_SIZE = 500;

/** A cursor `list` handed out, or a VALIDATION error naming `after`: garbage never reads as "from the start". */
function decodeCursor(cursor: string): { score: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.indexOf(':');
  const score = Number(text.slice(0, at));
  const id = text.slice(at + 1);
  if (at > 0 && Number.isFinite(score) && id && encodeCursor(score, id) === cursor) return { score, id };
  throw new ValidationError('after is not a cursor of this list; pass a pageInfo.endCursor', [
    { path: 'after', message: 'not a cursor of this list' },
  ]);
}

function checkPageSize(first: number): number {
  if (Number.isInteger(first) && first >= 1 && first <= MAX_PAGE_SIZE) return first;
  throw new ValidationError(`first must be between 1 and ${MAX_PAGE_SIZE}`, [
    { path: 'first', message: `must be between 1 and ${MAX_PAGE_SIZE}` },
  ]);
}

/** Does the filter name at most one index (and a time range), so the index alone answers it? */
function oneIndexAnswers(filter: TaskFilter): boolean {
  if (filter.errorText || filter.finishedBefore !== undefined) return false;
  if (![filter.status, filter.type, filter.queue].every((f) => !f || f.length <= 1)) return false;
  const named = [
    filter.status?.length,
    filter.type?.length,
    filter.queue?.length,
    Object.keys(filter.labels ?? {}).length,
    filter.scheduleId ? 1 : 0,
    filter.group ? 1 : 0,
  ];
  return named.filter((n) => n).length <= 1;
}

export function matchesFilter(task: Task, filter: TaskFilter): boolean {
  if (filter.status?.length && !filter.status.includes(task.status)) return false;
  if (filter.type?.length && !filter.type.includes(task.type)) return false;
  if (filter.queue?.length && !filter.queue.includes(task.queue)) return false;
  if (filter.scheduleId !== undefined && task.scheduleId !== filter.scheduleId) return false;
  if (filter.group !== undefined && task.group !== filter.group) return false;
  if (filter.createdAfter !== undefined && task.createdAt < filter.createdAfter) return false;
  if (filter.createdBefore !== undefined && task.createdAt >= filter.createdBefore) return false;
  if (
    filter.finishedBefore !== undefined &&
    !(task.finishedAt !== null && task.finishedAt < filter.finishedBefore)
  )
    return false;
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    if (task.labels[key] !== value) return false;
  }
  if (filter.errorText) {
    const message = lastAttemptError(task)?.message;
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
    const hashes = await Promise.all(
      inOneWrite(this.redis, () =>
        ids.map((id) =>
          this.redis.hgetall(this.keys.task(id)).then(
            (hash) => hash,
            () => null,
          ),
        ),
      ),
    );
    return hashes.map((hash) => (hash ? parseTaskRecord(hash) : null));
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

  /** The single-valued index conditions of a filter: every matching task is in each of these. */
  private indexesOf(filter: TaskFilter): string[] {
    const indexes: string[] = [];
    for (const [key, value] of Object.entries(filter.labels ?? {}))
      indexes.push(this.keys.indexLabel(key, value));
    if (filter.type?.length === 1) indexes.push(this.keys.indexType(filter.type[0]!));
    if (filter.queue?.length === 1) indexes.push(this.keys.indexQueue(filter.queue[0]!));
    if (filter.status?.length === 1) indexes.push(this.keys.indexStatus(filter.status[0]!));
    if (filter.scheduleId) indexes.push(this.keys.indexSchedule(filter.scheduleId));
    if (filter.group) indexes.push(this.keys.indexGroup(filter.group));
    return indexes;
  }

  /** The index to walk (the smallest that every matching task is in), and its size. */
  private async drivingIndex(filter: TaskFilter): Promise<{ index: string; size: number; all: string[] }> {
    const all = this.indexesOf(filter);
    if (all.length === 0) return { index: this.keys.indexAll, size: Number.POSITIVE_INFINITY, all };
    if (all.length === 1) return { index: all[0]!, size: Number.POSITIVE_INFINITY, all };
    const sizes = await Promise.all(inOneWrite(this.redis, () => all.map((key) => this.redis.zcard(key))));
    let best = 0;
    for (let i = 1; i < sizes.length; i++) if (sizes[i]! < sizes[best]!) best = i;
    return { index: all[best]!, size: sizes[best]!, all };
  }

  /**
   * Candidates newest first, a batch at a time, from `(max, min)` by score. Several index
   * conditions whose smallest index is small are intersected in Redis (one ZINTER); otherwise the
   * smallest index is walked and the records checked.
   */
  private async *candidates(
    filter: TaskFilter,
    max: number | string,
    min: number | string,
    batch: number,
    walk?: string,
    after?: { score: number; id: string } | null,
  ) {
    const { index, size, all } = walk
      ? { index: walk, size: 0, all: [walk] }
      : await this.drivingIndex(filter);
    if (all.length > 1 && size <= INTERSECT_MAX) {
      const reply = await this.redis.zinter(all.length, ...all, 'AGGREGATE', 'MIN', 'WITHSCORES');
      const hi =
        typeof max === 'number'
          ? max
          : max === '+inf'
            ? Number.POSITIVE_INFINITY
            : Number(String(max).slice(1));
      const hiOpen = typeof max === 'string' && max.startsWith('(');
      const lo = typeof min === 'number' ? min : Number.NEGATIVE_INFINITY;
      const found: [string, number][] = [];
      for (let i = 0; i < reply.length; i += 2) {
        const score = Number(reply[i + 1]);
        if (score > hi || (hiOpen && score === hi) || score < lo) continue;
        found.push([reply[i]!, score]);
      }
      // The order a REV walk of one index gives: by score, then by member, both descending.
      found.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
      for (let i = 0; i < found.length; i += batch)
        yield { entries: found.slice(i, i + batch), last: i + batch >= found.length };
      return;
    }
    // A page after a cursor whose task is still in the index starts right after it, by rank: no
    // re-reading of the cursor's own millisecond, no second round to fill the page.
    if (after && (all.length === 1 || size > INTERSECT_MAX)) {
      const [rank, score] = await Promise.all(
        inOneWrite(
          this.redis,
          () => [this.redis.zrevrank(index, after.id), this.redis.zscore(index, after.id)] as const,
        ),
      );
      if (typeof rank === 'number' && Number(score) === after.score) {
        const lo = typeof min === 'number' ? min : Number.NEGATIVE_INFINITY;
        for (let from = rank + 1; ; from += batch) {
          const reply = await this.redis.zrange(index, from, from + batch - 1, 'REV', 'WITHSCORES');
          const entries: [string, number][] = [];
          let below = false;
          for (let i = 0; i < reply.length; i += 2) {
            const entryScore = Number(reply[i + 1]);
            if (entryScore < lo) {
              below = true;
              break;
            }
            entries.push([reply[i]!, entryScore]);
          }
          const last = below || reply.length / 2 < batch;
          yield { entries, last };
          if (last) return;
        }
      }
    }
    let offset = 0;
    for (;;) {
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
      offset += reply.length / 2;
      const entries: [string, number][] = [];
      for (let i = 0; i < reply.length; i += 2) entries.push([reply[i]!, Number(reply[i + 1])]);
      yield { entries, last: entries.length < batch };
      if (entries.length < batch) return;
    }
  }

  /** Tasks matching `filter`, newest first, `first` at a time. */
  async list(filter: TaskFilter, options: ListOptions = {}): Promise<TaskPage> {
    const first = checkPageSize(options.first ?? 50);
    const maxScan = options.maxScan ?? 20_000;
    const cursor = options.after === undefined || options.after === null ? null : decodeCursor(options.after);
    // Dead letters by when they died walk their own index, scored by that time: creation times are
    // then checked on the records.
    const byDeath = options.order === 'deadLettered';
    let max: number | string = cursor ? cursor.score : byDeath ? '+inf' : (filter.createdBefore ?? '+inf');
    if (!cursor && !byDeath && filter.createdBefore !== undefined) max = `(${filter.createdBefore}`;
    const min = byDeath ? '-inf' : (filter.createdAfter ?? '-inf');
    const tasks: Task[] = [];
    let scanned = 0;
    let lastScore = 0;
    let lastId = '';
    let exhausted = false;
    // When the index alone answers the filter every record read is returned: read just a page.
    const batch = !byDeath && oneIndexAnswers(filter) ? first : BATCH;
    const walk = byDeath ? this.keys.indexDeadLettered : undefined;
    for await (const { entries, last } of this.candidates(filter, max, min, batch, walk, cursor)) {
      // The walk starts at the cursor's score; ties there that sort at or above the cursor's id
      // (descending by member) were on earlier pages. Many tasks share a millisecond, so such ties
      // can span more than one batch.
      const fresh = cursor
        ? entries.filter(([id, score]) => !(score === cursor.score && id >= cursor.id))
        : entries;
      const records = await this.getMany(fresh.map(([id]) => id));
      for (let i = 0; i < fresh.length && tasks.length < first; i++) {
        scanned++;
        [lastId, lastScore] = fresh[i]!;
        const task = records[i];
        if (task && matchesFilter(task, filter)) tasks.push(task);
      }
      if (tasks.length >= first || scanned >= maxScan) break;
      if (last) {
        exhausted = true;
        break;
      }
    }
    const nextCursor = exhausted || !lastId ? null : encodeCursor(lastScore, lastId);
    return { tasks, nextCursor, scanned };
  }

  /**
   * How many tasks match. Exact for filters one index answers (one ZCOUNT). Otherwise counted by a
   * walk that stops after reading `COUNT_SCAN_MAX` index entries: the answer is then a lower bound
   * (`exact: false`), so a count never costs more than that many record reads.
   */
  async count(filter: TaskFilter): Promise<TaskCount> {
    if (oneIndexAnswers(filter)) {
      const { index } = await this.drivingIndex(filter);
      const count = await this.redis.zcount(
        index,
        filter.createdAfter ?? '-inf',
        filter.createdBefore !== undefined ? `(${filter.createdBefore}` : '+inf',
      );
      return { count, exact: true };
    }
    let count = 0;
    let scanned = 0;
    let after: string | null = null;
    do {
      const page: TaskPage = await this.list(filter, {
        first: 500,
        after,
        maxScan: Math.min(20_000, COUNT_SCAN_MAX - scanned),
      });
      count += page.tasks.length;
      scanned += page.scanned;
      after = page.nextCursor;
    } while (after && scanned < COUNT_SCAN_MAX);
    return { count, exact: after === null };
  }
}
