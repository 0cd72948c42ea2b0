import { compareStreamIds, createRedis, type Logger } from '@taskplane/core';
import type { Redis } from 'ioredis';

/** One stream entry as Redis returns it: its id and its flat field list (`[name, value, ...]`). */
export type StreamEntry = [id: string, fields: string[]];

/** Called with new entries of a followed stream, oldest first; awaited before the next read. */
export type OnEntries = (entries: StreamEntry[]) => void | Promise<void>;

export interface StreamTailOptions {
  redisUrl: string;
  /** Shown in `CLIENT LIST` (the blocking connection is named `<name>`), and in logs. */
  name: string;
  logger: Logger;
  /**
   * How long one `XREAD` blocks, in ms. Default 5,000. Only bounds how often an idle tail asks
   * again; a stream followed while a read is blocked wakes the read at once (`CLIENT UNBLOCK`).
   */
  blockMs?: number;
  /** Entries read per stream per call. Default 1,000. */
  count?: number;
}

interface Follower {
  stream: string;
  /** The last entry id this follower was handed (or the id it started after). */
  lastId: string;
  onEntries: OnEntries;
}

/**
 * The last id a stream has generated (`0-0` when it does not exist yet): where to start following
 * it to see exactly what is appended from now on. Uses `last-generated-id`, not the last entry,
 * so entries deleted or trimmed since do not move "now" backwards.
 */
export async function streamLastId(redis: Redis, stream: string): Promise<string> {
  let info: unknown[];
  try {
    info = (await redis.xinfo('STREAM', stream)) as unknown[];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return '0-0';
    throw error;
  }
  const i = info.indexOf('last-generated-id');
  return i >= 0 ? String(info[i + 1]) : '0-0';
}

/**
 * Follows Redis streams by cursor with `XREAD BLOCK` on one dedicated connection, which waits for
 * Redis forever. Each follower starts after an explicit id and the tail remembers the last id it
 * handed over, so after a killed connection, a Redis restart (with persistence) or any error it
 * continues from there: every entry once, in order, with nothing for the caller to do. Reads never
 * use `$`, because ioredis resends an unanswered read after a reconnect and `$` would then mean a
 * later "now" (a silent gap).
 *
 * ```ts
 * const tail = new StreamTail({ redisUrl, name: 'events-tail', logger });
 * const stop = tail.follow(stream, await streamLastId(redis, stream), (entries) => { ... });
 * ```
 */
export class StreamTail {
  private readonly followers = new Set<Follower>();
  private readonly logger: Logger;
  private readonly blockMs: number;
  private readonly count: number;
  private connection: Redis | null = null;
  /** A short-lived side connection, only to wake a blocked read when a follower is added. */
  private waker: Redis | null = null;
  /** The blocking connection's `CLIENT ID` as of its current connect; null while unknown. */
  private clientId: number | null = null;
  private blocked = false;
  private running: Promise<void> | null = null;
  private stopped = false;
  private idle: (() => void) | null = null;

  constructor(private readonly options: StreamTailOptions) {
    this.logger = options.logger.child({ component: 'stream-tail', tail: options.name });
    this.blockMs = options.blockMs ?? 5_000;
    this.count = options.count ?? 1_000;
  }

  /**
   * Hand every entry of `stream` with an id greater than `afterId` to `onEntries`, in order, until
   * the returned function is called. `afterId` must be explicit (`0-0` for everything kept; resolve
   * "now" with `streamLastId` first). Errors thrown by `onEntries` are logged and the entries count
   * as handed over: a follower that must not skip an entry handles its own failures.
   */
  follow(stream: string, afterId: string, onEntries: OnEntries): () => void {
    if (this.stopped) throw new Error(`stream tail ${this.options.name} is stopped`);
    const follower: Follower = { stream, lastId: afterId === '0' ? '0-0' : afterId, onEntries };
    this.followers.add(follower);
    this.running ??= this.loop();
    this.wake();
    return () => {
      this.followers.delete(follower);
    };
  }

  /** The last id handed to the followers of `stream` (the oldest, when several follow it). */
  position(stream: string): string | undefined {
    let oldest: string | undefined;
    for (const f of this.followers) {
      if (f.stream === stream && (oldest === undefined || compareStreamIds(f.lastId, oldest) < 0))
        oldest = f.lastId;
    }
    return oldest;
  }

  /** Stop reading and close the connections. Followers get nothing after this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.followers.clear();
    this.idle?.();
    this.connection?.disconnect();
    this.waker?.disconnect();
    await this.running?.catch(() => {});
  }

  private wake(): void {
    this.idle?.();
    if (!this.blocked || this.clientId === null) return;
    const id = this.clientId;
    this.waker ??= createRedis({
      url: this.options.redisUrl,
      role: 'producer',
      name: `${this.options.name}:wake`,
    });
    // Best effort: if it fails, the blocked read returns by itself within blockMs.
    this.waker.client('UNBLOCK', id).catch(() => {});
  }

  private async loop(): Promise<void> {
    const connection = createRedis({
      url: this.options.redisUrl,
      role: 'subscriber',
      name: this.options.name,
    });
    this.connection = connection;
    connection.on('close', () => {
      this.clientId = null;
    });
    let failures = 0;
    while (!this.stopped) {
      if (this.followers.size === 0) {
        await new Promise<void>((resolve) => {
          this.idle = resolve;
        });
        this.idle = null;
        continue;
      }
      // Per stream, read after the oldest follower's position; each follower skips what it had.
      const from = new Map<string, string>();
      for (const f of this.followers) {
        const current = from.get(f.stream);
        if (current === undefined || compareStreamIds(f.lastId, current) < 0) from.set(f.stream, f.lastId);
      }
      let reply: [string, StreamEntry[]][] | null;
      try {
        if (this.clientId === null) this.clientId = Number(await connection.client('ID'));
        this.blocked = true;
        reply = (await connection.xread(
          'COUNT',
          this.count,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          ...from.keys(),
          ...from.values(),
        )) as [string, StreamEntry[]][] | null;
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures++;
        this.logger.warn({ err: error }, 'stream read failed; retrying from the last id');
        // A back-off, not a wait for an event: the read failed and Redis may be busy restarting.
        await new Promise((resolve) => setTimeout(resolve, Math.min(failures * 100, 2_000)));
        continue;
      } finally {
        this.blocked = false;
      }
      if (!reply) continue;
      for (const [stream, entries] of reply) {
        const readFrom = from.get(stream) ?? '0-0';
        for (const follower of [...this.followers]) {
          if (follower.stream !== stream || !this.followers.has(follower)) continue;
          // A follower added during the read may want older entries than it covered: next read.
          if (compareStreamIds(follower.lastId, readFrom) < 0) continue;
          const fresh = entries.filter(([id]) => compareStreamIds(id, follower.lastId) > 0);
          if (fresh.length === 0) continue;
          follower.lastId = fresh.at(-1)![0];
          try {
            await follower.onEntries(fresh);
          } catch (error) {
            this.logger.error({ err: error, stream }, 'stream follower failed on entries');
          }
        }
      }
    }
    connection.disconnect();
  }
}
