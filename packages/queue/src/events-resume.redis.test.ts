import { CursorExpiredError, createLogger, type TaskEvent } from '@taskplane/core';
import { EventHub } from '@taskplane/events';
import { afterEach, describe, expect, it } from 'vitest';
import { recordArgs } from './scripts';
import { createHarness, type Harness, REDIS_URL } from './testing/harness';

let h: Harness;
let hub: EventHub;
afterEach(async () => {
  await hub?.stop();
  await h?.close();
});

async function take(
  feed: AsyncIterator<TaskEvent>,
  n: number,
  enough: (e: TaskEvent[]) => boolean = () => false,
) {
  const out: TaskEvent[] = [];
  while (out.length < n && !enough(out)) {
    const next = await feed.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('event subscriptions', () => {
  it('resume after a cursor with no gap and no duplicate while tasks keep flowing', async () => {
    h = await createHarness();
    hub = new EventHub(REDIS_URL, h.keys, h.redis, createLogger('test', 'warn'));
    await h.startWorker();
    const total = 300;
    const submitting = (async () => {
      for (let i = 0; i < total; i += 10) {
        await h.engine.submitMany(
          Array.from({ length: 10 }, (_, j) => ({ type: 'work', params: { tag: `t${i + j}` } })),
        );
      }
    })();

    // Read a little, drop the connection, resume from the last cursor while events keep coming.
    const seen: TaskEvent[] = [];
    let feed = await hub.subscribe({ after: '0' });
    seen.push(...(await take(feed, 50)));
    feed.close();
    const succeeded = (events: TaskEvent[]) => events.filter((e) => e.kind === 'succeeded').length;
    while (true) {
      feed = await hub.subscribe({ after: seen.at(-1)!.cursor });
      const batch = await take(feed, 97, (b) => succeeded(seen) + succeeded(b) === total);
      feed.close();
      seen.push(...batch);
      if (succeeded(seen) === total) break;
    }
    await submitting;

    const all = await h.events();
    const upTo = all.findIndex((e) => e.cursor === seen.at(-1)!.cursor);
    expect(seen.map((e) => e.cursor)).toEqual(all.slice(0, upTo + 1).map((e) => e.cursor));
    expect(new Set(seen.map((e) => e.cursor)).size).toBe(seen.length);
  });

  it('filters events and delivers live ones to a subscriber without a cursor', async () => {
    h = await createHarness();
    hub = new EventHub(REDIS_URL, h.keys, h.redis, createLogger('test', 'warn'));
    const feed = await hub.subscribe({ filter: { labels: { shop: 'b' }, kinds: ['succeeded'] } });
    await h.engine.submit({ type: 'work', params: {}, labels: { shop: 'a' } });
    const { task } = await h.engine.submit({ type: 'work', params: {}, labels: { shop: 'b' } });
    await h.startWorker();
    const [event] = await take(feed, 1);
    expect(event).toMatchObject({
      taskId: task.id,
      kind: 'succeeded',
      status: 'success',
      labels: { shop: 'b' },
    });
    feed.close();
  });

  it('answers a cursor older than the retention with a clear error', async () => {
    h = await createHarness({ events: { stream_max_len: 1000 } });
    hub = new EventHub(REDIS_URL, h.keys, h.redis, createLogger('test', 'warn'));
    const { task } = await h.engine.submit({ type: 'work', params: {} });
    const [first] = await h.events();
    // Write more events than the stream keeps: log lines are events too.
    for (let i = 0; i < 30; i++) {
      await h.engine.redis.tpAppendLog(
        h.keys.events,
        h.keys.taskLog(task.id),
        ...recordArgs(h.keys, 1000),
        task.id,
        Date.now(),
        10,
        ...Array.from({ length: 100 }, (_, j) => `line ${j}`),
      );
    }
    await h.redis.xtrim(h.keys.events, 'MAXLEN', 1000);
    await expect(hub.subscribe({ after: first!.cursor })).rejects.toBeInstanceOf(CursorExpiredError);
    await expect(hub.subscribe({ after: first!.cursor })).rejects.toThrow(
      /older than the event stream's retention/,
    );
  });
});
