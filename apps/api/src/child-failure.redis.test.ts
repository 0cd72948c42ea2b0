// The fan-out policy as clients set and read it: onChildFailure on SubmitTaskInput and on Task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) {
  submitTask(input: $input) {
    __typename
    ... on SubmitTaskPayload { task { id onChildFailure } }
  }
}`;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

describe('onChildFailure', () => {
  it('is CONTINUE by default and keeps what the submitter chose', async () => {
    const submit = async (extra: Record<string, unknown>) => {
      const result = await api.graphql<{ submitTask: { task: { id: string; onChildFailure: string } } }>(
        SUBMIT,
        {
          input: { type: 'batch_products', params: { urls: ['http://127.0.0.1:9/products/p1'] }, ...extra },
        },
      );
      return result.data!.submitTask.task;
    };
    expect((await submit({})).onChildFailure).toBe('CONTINUE');
    const task = await submit({ onChildFailure: 'FAIL_PARENT' });
    expect(task.onChildFailure).toBe('FAIL_PARENT');
    const read = await api.graphql<{ task: { onChildFailure: string } }>(
      'query($id: ID!) { task(id: $id) { onChildFailure } }',
      { id: task.id },
    );
    expect(read.data!.task.onChildFailure).toBe('FAIL_PARENT');
    expect((await submit({ onChildFailure: 'IGNORE' })).onChildFailure).toBe('IGNORE');
  });
});
