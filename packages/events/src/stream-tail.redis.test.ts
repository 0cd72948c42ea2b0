import { randomBytes } from 'node:crypto';
import { createLogger, createRedis } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type StreamEntry, StreamTail, streamLastId } from './stream-tail';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('test', process.env.TEST_LOG ?? 'silent');

let redis: Redis | null = null;
let tail: StreamTail | null = null;
let stream = '';

afterEach(async () => {
  await tail?.stop();
  if (redis) {
    await redis.unlink(stream);
    redis.disconnect();
  }
  tail = null;
  redis = null;
});

function setUp(): { name: string } {
  const id = randomBytes(4).toString('hex');
  stream = `tptest-tail-${id}:stream`;
  redis = createRedis({ url: REDIS_URL, role: 'worker' });
  const name = `tptest-tail-${id}`;
  tail = new StreamTail({ redisUrl: REDIS_URL, name, logger, blockMs: 2_000 });
  return { name };
}

/** Kill the client connections named `name` (by id, so nothing else is touched). */
async function killByName(admin: Redis, name: string): Promise<number> {
  const list = await admin.client('LIST');
  let killed = 0;
  for (const line of String(list).split('\n')) {
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
    if (id && line.includes(` name=${name} `)) killed += Number(await admin.client('KILL', 'ID', id));
  }
  return killed;
}

async function append(from: number, to: number): Promise<void> {
  const pipeline = redis!.pipeline();
  for (let i = from; i < to; i++) pipeline.xadd(stream, '*', 'n', String(i));
  await pipeline.exec();
}

describe('StreamTail', () => {
  it('continues after its connection is killed, with every entry once and in order', async () => {
    const { name } = setUp();
    const total = 3_000;
    const seen: StreamEntry[] = [];
    let killing = Promise.resolve(0);
    const kills: number[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    tail!.follow(stream, await streamLastId(redis!, stream), (entries) => {
      const before = seen.length;
      seen.push(...entries);
      for (const mark of [500, 1_500]) {
        if (before < mark && seen.length >= mark) {
          killing = killing.then(() =>
            killByName(redis!, name).then((n) => {
              kills.push(n);
              return n;
            }),
          );
        }
      }
      if (seen.length >= total) resolveDone();
    });
    for (let i = 0; i < total; i += 100) await append(i, i + 100);
    await done;
    await killing;
    expect(kills).toEqual([1, 1]);
    const log = (await redis!.xrange(stream, '-', '+')) as StreamEntry[];
    expect(seen.map(([id]) => id)).toEqual(log.map(([id]) => id));
    expect(seen.map(([, f]) => f[1])).toEqual(Array.from({ length: total }, (_, i) => String(i)));
  });

  it('starts after the given id and wakes a blocked read for a new follower', async () => {
    setUp();
    await append(0, 5);
    const start = await streamLastId(redis!, stream);
    const first: string[] = [];
    const gotFirst = new Promise<void>((resolve) => {
      tail!.follow(stream, start, (entries) => {
        first.push(...entries.map(([, f]) => f[1]!));
        if (first.length >= 2) resolve();
      });
    });
    await append(5, 6);
    // A second follower from the very beginning is added while the tail is blocked on the first:
    // it gets the whole stream, and without waiting for the block to time out (2 s).
    const started = Date.now();
    const all: string[] = [];
    const gotAll = new Promise<void>((resolve) => {
      tail!.follow(stream, '0', (entries) => {
        all.push(...entries.map(([, f]) => f[1]!));
        if (all.length >= 7) resolve();
      });
    });
    await append(6, 7);
    await Promise.all([gotFirst, gotAll]);
    expect(first).toEqual(['5', '6']);
    expect(all).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('resolves "now" of a missing stream to 0-0', async () => {
    setUp();
    expect(await streamLastId(redis!, stream)).toBe('0-0');
  });
});
