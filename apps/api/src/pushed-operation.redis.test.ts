import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, collect, startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

// Each event carries its task's params: ~60 KB, so a burst fills a socket that is not read.
const EVENTS = 'subscription { taskEvents(kinds: [SUBMITTED]) { taskId task { params } } }';
const BURST = 150;

interface Event {
  taskEvents: { taskId: string; task: { params: { url: string } } | null };
}

/** A graphql-ws subscriber over a bare socket, so the test can stop reading from it. */
async function bareSubscriber(url: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const events: Event[] = [];
  const others: unknown[] = [];
  let onEvent = () => {};
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      ),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: { data: Event } };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query: EVENTS } }));
        resolve();
      } else if (message.type === 'next' && message.payload?.data) {
        events.push(message.payload.data);
        onEvent();
      } else others.push(message);
    });
  });
  return {
    socket,
    events,
    others,
    received(count: number) {
      return new Promise<void>((resolve) => {
        onEvent = () => {
          if (events.length >= count) resolve();
        };
        onEvent();
      });
    },
  };
}

describe('a slow subscriber', () => {
  it('does not hold up a fast one, and gets every event in order once it reads again', async () => {
    api = await startTestApi();
    const slow = await bareSubscriber(api.url);
    try {
      await slowAndFast(slow);
    } finally {
      slow.socket.terminate();
    }
  });
});

describe('a subscriber that falls too far behind', () => {
  it('gets every event up to the gap, then SUBSCRIBER_TOO_SLOW with its code, as one through the envelope would', async () => {
    api = await startTestApi();
    const slow = await bareSubscriber(api.url);
    try {
      for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      slow.socket.pause();
      // Large events first, to fill the socket past its high-water mark (pushing stops), then more
      // small ones than a subscriber may have waiting (MAX_BUFFERED = 1,000).
      const padding = 'x'.repeat(60_000);
      const ids: string[] = [];
      const submit = async (count: number, pad: string) => {
        for (let i = 0; i < count; i += 50) {
          const tasks = await api.services.engine.submitMany(
            Array.from({ length: Math.min(50, count - i) }, (_, n) => ({
              type: 'single_product',
              params: { url: `http://127.0.0.1:9/p${ids.length + n}?${pad}` },
            })),
          );
          for (const outcome of tasks) if (outcome.ok) ids.push(outcome.task.id);
        }
      };
      await submit(150, padding);
      await submit(1_100, '');
      const ended = new Promise<void>((resolve) =>
        slow.socket.on('message', () => {
          if (slow.others.length > 0) resolve();
        }),
      );
      slow.socket.resume();
      await ended;
      expect(slow.others).toEqual([
        {
          id: 'slow',
          type: 'error',
          payload: [
            expect.objectContaining({ extensions: { code: 'SUBSCRIBER_TOO_SLOW', retryable: true } }),
          ],
        },
      ]);
      // What came before the error is every event from the first, in order, without a gap.
      expect(slow.events.length).toBeGreaterThan(150);
      expect(slow.events.length).toBeLessThan(ids.length);
      expect(slow.events.map((e) => e.taskEvents.taskId)).toEqual(ids.slice(0, slow.events.length));
    } finally {
      slow.socket.terminate();
    }
  });
});

async function slowAndFast(slow: Awaited<ReturnType<typeof bareSubscriber>>) {
  const fast = collect<Event>(api.ws(), EVENTS, {}, BURST);
  await fast.ready;
  for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 2; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  // Stop reading: the server's writes to this socket back up past the kernel's buffers.
  slow.socket.pause();
  const padding = 'x'.repeat(60_000);
  const ids: string[] = [];
  for (let i = 0; i < BURST; i += 25) {
    const tasks = await api.services.engine.submitMany(
      Array.from({ length: 25 }, (_, n) => ({
        type: 'single_product',
        params: { url: `http://127.0.0.1:9/p${i + n}?${padding}` },
      })),
    );
    for (const outcome of tasks) if (outcome.ok) ids.push(outcome.task.id);
  }
  const fastEvents = await fast.done;
  expect(ids).toHaveLength(BURST);
  expect(fastEvents.map((e) => e.taskEvents.taskId)).toEqual(ids);
  // The slow socket has not been read; what it got so far is a prefix at most.
  expect(slow.events.length).toBeLessThan(BURST);

  slow.socket.resume();
  await slow.received(BURST);
  expect(slow.events.map((e) => e.taskEvents.taskId)).toEqual(ids);
  expect(slow.events.every((e) => e.taskEvents.task?.params.url.endsWith(padding))).toBe(true);
  expect(slow.others).toEqual([]);
}
