import { afterEach, describe, expect, it } from 'vitest';
import { collect, startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
afterEach(async () => {
  await api?.close();
});

const EVENTS = `subscription($queue: [String!]) { taskEvents(filter: { queue: $queue }) { cursor kind taskId task { id status } } }`;

async function executions(): Promise<number> {
  return (await api.metrics.executions.get()).values[0]?.value ?? 0;
}

describe('subscription fan-out', () => {
  it('executes a document once per event for many subscribers of it', async () => {
    api = await startTestApi();
    const subscribers = 200;
    // 100 sockets, two subscriptions each: the shape of many consoles and bots watching one queue.
    const clients = Array.from({ length: 100 }, () => api.ws());
    const feeds = Array.from({ length: subscribers }, (_, i) =>
      collect(clients[i % clients.length]!, EVENTS, { queue: ['products'] }, 1),
    );
    await Promise.all(feeds.map((f) => f.ready));
    // Give the last SUBSCRIBE messages time to be registered: wait until the server counts them all.
    for (
      let i = 0;
      i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== subscribers;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = await executions();
    const submitted = await api.graphql<{ submitTask: { task: { id: string } } }>(
      `mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/products/p1" } }) { ... on SubmitTaskPayload { task { id } } } }`,
    );
    const id = submitted.data!.submitTask.task.id;
    const received = await Promise.all(feeds.map((f) => f.done));
    expect(
      received.every(([first]) => (first as { taskEvents: { taskId: string } }).taskEvents.taskId === id),
    ).toBe(true);
    // One submitted event, one execution: not one per subscriber.
    expect((await executions()) - before).toBe(1);
  });

  it('still executes each distinct document or variables separately', async () => {
    api = await startTestApi();
    const client = api.ws();
    const a = collect(client, EVENTS, { queue: ['products'] }, 1);
    const b = collect(client, EVENTS, { queue: ['products', 'search'] }, 1);
    const c = collect(client, `subscription { taskEvents { kind taskId } }`, {}, 1);
    await Promise.all([a.ready, b.ready, c.ready]);
    for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = await executions();
    await api.graphql(
      `mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/p" } }) { __typename } }`,
    );
    const [[ea], [eb], [ec]] = await Promise.all([a.done, b.done, c.done]);
    expect((ea as { taskEvents: { kind: string } }).taskEvents.kind).toBe('SUBMITTED');
    expect((eb as { taskEvents: { kind: string } }).taskEvents.kind).toBe('SUBMITTED');
    expect(ec).toMatchObject({ taskEvents: { kind: 'SUBMITTED' } });
    expect((await executions()) - before).toBe(3);
  });
});

describe('subscribers of one document', () => {
  it('keep getting results when the one that subscribed first leaves, and so does a newcomer after all left', async () => {
    api = await startTestApi();
    const submit = async () =>
      (
        await api.graphql<{ submitTask: { task: { id: string } } }>(
          `mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/p" } }) { ... on SubmitTaskPayload { task { id } } } }`,
        )
      ).data!.submitTask.task.id;
    const subscribed = async (count: number) => {
      for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== count; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    type Event = { taskEvents: { kind: string; taskId: string; task: { id: string; status: string } } };
    const first = collect<Event>(api.ws(), EVENTS, { queue: ['products'] }, 1);
    const second = collect<Event>(api.ws(), EVENTS, { queue: ['products'] }, 2);
    await Promise.all([first.ready, second.ready]);
    await subscribed(2);
    const one = await submit();
    expect((await first.done).map((e) => e.taskEvents.taskId)).toEqual([one]);
    // The first subscriber has left (it wanted one event): the second's next event still executes.
    await subscribed(1);
    const two = await submit();
    const events = await second.done;
    expect(events.map((e) => e.taskEvents.taskId)).toEqual([one, two]);
    expect(events[1]!.taskEvents.task).toEqual({ id: two, status: 'PENDING' });

    await subscribed(0);
    const later = collect<Event>(api.ws(), EVENTS, { queue: ['products'] }, 1);
    await later.ready;
    await subscribed(1);
    const three = await submit();
    expect((await later.done).map((e) => e.taskEvents.task)).toEqual([{ id: three, status: 'PENDING' }]);
  });
});

describe('the task of an event', () => {
  it('is read once per event for every distinct subscription that selects it', async () => {
    api = await startTestApi();
    const { store } = api.services.engine;
    const reads: string[] = [];
    const [get, getMany] = [store.get.bind(store), store.getMany.bind(store)];
    store.get = (id: string) => {
      reads.push(id);
      return get(id);
    };
    store.getMany = (ids: string[]) => {
      reads.push(...ids);
      return getMany(ids);
    };
    const client = api.ws();
    // Twenty different documents' worth of subscriptions: each executes on its own.
    const feeds = Array.from({ length: 20 }, (_, i) =>
      collect(client, EVENTS, { queue: ['products', ...Array.from({ length: i }, (_, n) => `q${n}`)] }, 1),
    );
    await Promise.all(feeds.map((f) => f.ready));
    for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 20; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const submitted = await api.graphql<{ submitTask: { task: { id: string } } }>(
      `mutation { submitTask(input: { type: "single_product", params: { url: "http://127.0.0.1:9/p" } }) { ... on SubmitTaskPayload { task { id } } } }`,
    );
    const id = submitted.data!.submitTask.task.id;
    const received = (await Promise.all(feeds.map((f) => f.done))).map(
      ([first]) => (first as { taskEvents: { task: { id: string } } }).taskEvents.task.id,
    );
    expect(received).toEqual(Array.from({ length: 20 }, () => id));
    // Twenty executions of one SUBMITTED event, one read of its task.
    expect(reads.filter((r) => r === id)).toHaveLength(1);
  });
});

describe('a subscriber that selects the task of each event', () => {
  it('gets a burst with the tasks loaded ahead in a few round trips, not one per event', async () => {
    api = await startTestApi();
    const { store } = api.services.engine;
    let calls = 0;
    const getMany = store.getMany.bind(store);
    store.getMany = (ids: string[]) => {
      calls++;
      return getMany(ids);
    };
    const burst = 900;
    const feed = collect<{ taskEvents: { taskId: string; task: { id: string } | null } }>(
      api.ws(),
      'subscription { taskEvents(kinds: [SUBMITTED]) { taskId task { id } } }',
      {},
      burst,
    );
    await feed.ready;
    for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.services.engine.submitMany(
      Array.from({ length: burst }, () => ({
        type: 'single_product',
        params: { url: 'http://127.0.0.1:9/p' },
      })),
    );
    const events = await feed.done;
    expect(events).toHaveLength(burst);
    expect(events.every((e) => e.taskEvents.task?.id === e.taskEvents.taskId)).toBe(true);
    expect(calls).toBeLessThan(burst / 10);
  });
});
