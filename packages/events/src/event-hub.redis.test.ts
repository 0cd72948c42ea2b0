import { randomBytes } from 'node:crypto';
import { createLogger, createRedis, ErrorCode, Keys, type TaskEvent } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type EventFeed, EventHub, SubscriberTooSlowError } from './event-hub';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('test', process.env.TEST_LOG ?? 'silent');

let redis: Redis | null = null;
let hub: EventHub | null = null;
let keys: Keys;

afterEach(async () => {
  await hub?.stop();
  if (redis) {
    await redis.unlink(keys.events);
    redis.disconnect();
  }
  hub = null;
  redis = null;
});

async function setUp(idleMs?: number): Promise<EventHub> {
  keys = new Keys(`tptest-hub-${randomBytes(4).toString('hex')}`);
  redis = createRedis({ url: REDIS_URL, role: 'worker' });
  hub = new EventHub(REDIS_URL, keys, redis, logger, idleMs);
  await hub.start();
  return hub;
}

/** Append `n` events in the scripts' format (one pipeline); events carry their number in `d`. */
let written = 0;
async function write(n: number, taskId = 't1'): Promise<void> {
  const pipeline = redis!.pipeline();
  for (let i = 0; i < n; i++) {
    pipeline.xadd(
      keys.events,
      '*',
      ...['k', 'progress', 'id', taskId, 'q', 'work', 't', 'work', 's', 'running', 'at', String(Date.now())],
      ...['l', '{}', 'd', JSON.stringify({ n: written++ })],
    );
  }
  await pipeline.exec();
}

async function logCursors(): Promise<string[]> {
  const out: string[] = [];
  let start = '-';
  for (;;) {
    const entries = (await redis!.xrange(keys.events, start, '+', 'COUNT', 5000)) as [string, string[]][];
    out.push(...entries.map(([id]) => id));
    if (entries.length < 5000) return out;
    start = `(${entries.at(-1)![0]}`;
  }
}

async function take(feed: EventFeed, n: number): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  while (out.length < n) {
    const next = await feed.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

/** Whether the hub's tail connection is blocked reading the stream now (CLIENT LIST flags). */
async function tailReading(): Promise<boolean> {
  const list = (await redis!.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=events-tail:${keys.prefix} `));
  return line !== undefined && / flags=b /.test(line);
}

describe('EventHub', () => {
  it('stops reading the stream while no subscription is open, and resumes gaplessly for the next', async () => {
    await setUp(50);
    const first = await hub!.subscribe();
    await write(2);
    expect((await take(first, 2)).map((e) => e.data)).toEqual([{ n: written - 2 }, { n: written - 1 }]);
    first.close();
    await new Promise((r) => setTimeout(r, 200));
    // One more event releases the read that was blocked when the last subscription ended.
    await write(1);
    await new Promise((r) => setTimeout(r, 200));
    const before = await logCursors();
    let idle = true;
    for (let i = 0; i < 5 && idle; i++) {
      idle = !(await tailReading());
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(idle).toBe(true);
    // Events written while nobody listened are there for a resume; new ones come live.
    await write(3);
    const resumed = await hub!.subscribe({ after: before.at(-1)! });
    const live = await hub!.subscribe();
    await write(2);
    const got = await take(resumed, 5);
    expect(got.map((e) => e.cursor)).toEqual((await logCursors()).slice(before.length));
    expect((await take(live, 2)).map((e) => e.cursor)).toEqual(got.slice(3).map((e) => e.cursor));
    expect(await tailReading()).toBe(true);
    resumed.close();
    live.close();
  });

  it('replays a long log in order, holding one chunk at a time', async () => {
    await setUp();
    for (let i = 0; i < 20; i++) await write(1_000);
    const feed = await hub!.subscribe({ after: '0' });
    const got = await take(feed, 20_000);
    feed.close();
    expect(got.map((e) => e.cursor)).toEqual(await logCursors());
  });

  it('hands a replay over to live with no gap and no duplicate while events keep flowing', async () => {
    await setUp();
    await write(3_000);
    let writing = true;
    const writer = (async () => {
      while (writing) await write(20);
    })();
    const feed = await hub!.subscribe({ after: '0' });
    const got: TaskEvent[] = [];
    // Read well past the backlog, so the hand-over happens while the writer runs.
    while (got.length < 6_000) got.push(...(await take(feed, 1)));
    writing = false;
    await writer;
    const total = (await logCursors()).length;
    got.push(...(await take(feed, total - got.length)));
    feed.close();
    expect(got.map((e) => e.cursor)).toEqual(await logCursors());
  });

  it('ends a subscriber that stops reading after its buffered events, and a resume misses nothing', async () => {
    await setUp();
    const maxBuffered = 100;
    const slow = await hub!.subscribe({ maxBuffered });
    // A second, reading subscriber tells us when the hub has dispatched everything.
    const watcher = await hub!.subscribe({ maxBuffered: 10_000 });
    await write(300);
    await take(watcher, 300);
    watcher.close();
    const got: TaskEvent[] = [];
    let error: unknown = null;
    try {
      for (;;) {
        const next = await slow.next();
        if (next.done) break;
        got.push(next.value);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SubscriberTooSlowError);
    expect(error).toMatchObject({ code: ErrorCode.SubscriberTooSlow, retryable: true });
    expect((error as Error).message).toMatch(/resume from the cursor of the last event/);
    expect(got).toHaveLength(maxBuffered);
    const resumed = await hub!.subscribe({ after: got.at(-1)!.cursor });
    got.push(...(await take(resumed, 200)));
    resumed.close();
    expect(got.map((e) => e.cursor)).toEqual(await logCursors());
  });

  it('answers VALIDATION for malformed, out-of-range and future cursors', async () => {
    await setUp();
    await write(3);
    const [last] = (await logCursors()).slice(-1);
    const [ms, seq] = last!.split('-').map(BigInt) as [bigint, bigint];
    for (const bad of [
      '99999999999999999999-0',
      '1-18446744073709551616',
      'abc',
      '12',
      '-1-0',
      `${ms}-${seq + 1n}`,
      `${ms + 1000n}-0`,
      '1796088709120-99999999999999999',
    ]) {
      if (bad === '1796088709120-99999999999999999' && BigInt(1796088709120) < ms) continue;
      await expect(hub!.subscribe({ after: bad }), bad).rejects.toMatchObject({ code: ErrorCode.Validation });
    }
    const ok = await hub!.subscribe({ after: last! });
    ok.close();
  });
});
