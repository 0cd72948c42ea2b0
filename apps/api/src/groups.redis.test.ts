// Fair groups through the API: the group a task was submitted with, the queue's groups with their
// counts and limits, a run-time change of the limits, and a bad group refused as a ValidationError.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) {
  submitTask(input: $input) {
    __typename
    ... on SubmitTaskPayload { task { id group status } }
    ... on ValidationError { code message fields { path message } }
  }
}`;

const GROUPS = `query($first: Int, $after: String) {
  queue(name: "products") {
    groupLimits { concurrency window rateLimit { max durationMs } }
    groups(first: $first, after: $after) {
      nodes { name waiting queued running inFlight limit }
      pageInfo { endCursor hasNextPage }
    }
  }
}`;

interface GroupsResult {
  queue: {
    groupLimits: {
      concurrency: number | null;
      window: number;
      rateLimit: { max: number; durationMs: number } | null;
    };
    groups: {
      nodes: {
        name: string;
        waiting: number;
        queued: number;
        running: number;
        inFlight: number;
        limit: number;
      }[];
      pageInfo: { endCursor: string | null; hasNextPage: boolean };
    };
  };
}

let api: TestApi;
beforeAll(async () => {
  // No worker runs here: grouped tasks stay where the dispatcher put them.
  api = await startTestApi({
    task_types: { anything: { queue: 'products', params: { type: 'object' } } },
    queues: { products: { groups: { concurrency: 2 } } },
  });
});
afterAll(async () => {
  await api?.close();
});

async function submit(input: Record<string, unknown>) {
  const result = await api.graphql<{ submitTask: Record<string, unknown> }>(SUBMIT, { input });
  return result.data!.submitTask;
}

describe('fair groups over GraphQL', () => {
  it('counts each group of a queue: parked, queued, and in flight under the limit', async () => {
    for (let n = 0; n < 5; n++) {
      const payload = await submit({ type: 'anything', group: 'shop-1' });
      expect(payload).toMatchObject({
        __typename: 'SubmitTaskPayload',
        task: { group: 'shop-1', status: 'PENDING' },
      });
    }
    await submit({ type: 'anything', group: 'shop-2' });
    await submit({ type: 'anything' });
    const { data, errors } = await api.graphql<GroupsResult>(GROUPS, { first: 10 });
    expect(errors).toBeUndefined();
    expect(data!.queue.groupLimits).toEqual({ concurrency: 2, window: 50, rateLimit: null });
    const byName = [...data!.queue.groups.nodes].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName).toEqual([
      { name: 'shop-1', waiting: 3, queued: 2, running: 0, inFlight: 2, limit: 2 },
      { name: 'shop-2', waiting: 0, queued: 1, running: 0, inFlight: 1, limit: 2 },
    ]);
    expect(data!.queue.groups.pageInfo).toEqual({ endCursor: null, hasNextPage: false });

    const listed = await api.graphql<{ tasks: { nodes: { group: string }[] } }>(
      '{ tasks(filter: { group: "shop-1" }, first: 50) { nodes { group } } }',
    );
    expect(listed.data!.tasks.nodes).toHaveLength(5);

    // Raised at run time: the group's next turn takes one more task from its lane.
    const changed = await api.graphql(
      `mutation { setQueueGroupLimits(name: "products", concurrency: 3, rateMax: 10, rateDurationMs: 1000) {
        ... on Queue { groupLimits { concurrency rateLimit { max durationMs } } } } }`,
    );
    expect(changed.data).toEqual({
      setQueueGroupLimits: { groupLimits: { concurrency: 3, rateLimit: { max: 10, durationMs: 1000 } } },
    });
    await submit({ type: 'anything', group: 'shop-1' });
    const after = await api.graphql<GroupsResult>(GROUPS, { first: 10 });
    expect(after.data!.queue.groups.nodes.find((g) => g.name === 'shop-1')).toEqual({
      name: 'shop-1',
      waiting: 3,
      queued: 3,
      running: 0,
      inFlight: 3,
      limit: 3,
    });
  });

  it('refuses a malformed group, or a group with a delay, naming the field', async () => {
    for (const group of ['shop:1', 'a b', 'x'.repeat(129), '']) {
      expect(await submit({ type: 'anything', group })).toMatchObject({
        __typename: 'ValidationError',
        code: 'VALIDATION',
        fields: [{ path: 'group', message: expect.any(String) }],
      });
    }
    expect(await submit({ type: 'anything', group: 'g', delayMs: 1000 })).toMatchObject({
      __typename: 'ValidationError',
      fields: [{ path: 'group', message: expect.stringContaining('not with a delay') }],
    });
    const bad = await api.graphql(`mutation { setQueueGroupLimits(name: "products", concurrency: -1) {
      __typename ... on ValidationError { fields { path } } } }`);
    expect(bad.data).toEqual({
      setQueueGroupLimits: { __typename: 'ValidationError', fields: [{ path: 'groups.concurrency' }] },
    });
  });
});
