// Malformed input, as clients send it: every error has a stable code and names the bad value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) {
  submitTask(input: $input) {
    __typename
    ... on SubmitTaskPayload { task { id } }
    ... on ValidationError { code message fields { path message } }
  }
}`;
const URL_OK = 'http://127.0.0.1:4100/products/p1';

type Result = Awaited<ReturnType<TestApi['graphql']>>;
const submitted = (result: Result) =>
  (result.data as { submitTask: { __typename: string; fields?: { path: string; message: string }[] } })
    .submitTask;

let api: TestApi;
let production: TestApi;
beforeAll(async () => {
  api = await startTestApi({ task_types: { anything: { queue: 'products', params: { type: 'object' } } } });
  production = await startTestApi({ mode: 'production' });
});
afterAll(async () => {
  await api?.close();
  await production?.close();
});

describe('malformed input', () => {
  it('params nested 10,000 deep are refused with VALIDATION, not a stack overflow', async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const body = `{"query":${JSON.stringify(SUBMIT)},"variables":{"input":{"type":"anything","params":${deep}}}}`;
    const response = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tp_test_admin_token_0123456789' },
      body,
    });
    const result = submitted(await response.json());
    expect(result).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    expect(result.fields).toEqual([{ path: 'params', message: 'nested deeper than 32 levels' }]);
  });

  it('params larger than api.max_params_bytes are refused with VALIDATION', async () => {
    const result = submitted(
      await api.graphql(SUBMIT, { input: { type: 'anything', params: { blob: 'x'.repeat(70_000) } } }),
    );
    expect(result.__typename).toBe('ValidationError');
    expect(result.fields![0]!.path).toBe('params');
  });

  it('a variable of the wrong type gets BAD_USER_INPUT and the path of the bad value', async () => {
    const result = await api.graphql(SUBMIT, {
      input: { type: 'single_product', params: { url: URL_OK }, priority: 5.5 },
    });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.message).toContain('input.priority');
    expect(result.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ path: 'input.priority', message: 'Int cannot represent non-integer value: 5.5' }],
    });
    const date = await api.graphql(SUBMIT, {
      input: { type: 'single_product', params: { url: URL_OK }, runAt: 'tomorrow' },
    });
    expect(date.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ path: 'input.runAt' }],
    });
  });

  it('every error of a document has a code', async () => {
    for (const query of ['query { taks { id } }', 'query { tasks(', 'mutation { pauseQueue }']) {
      const result = await api.graphql(query);
      expect(result.errors!.length).toBeGreaterThan(0);
      for (const error of result.errors!) expect(error.extensions?.code).toMatch(/^[A-Z_]+$/);
    }
  });

  it('reports every field error at once, and "required" for a missing one', async () => {
    const both = submitted(
      await api.graphql(SUBMIT, { input: { type: 'single_product', params: { url: 5 }, priority: 11 } }),
    );
    expect(both.fields!.map((f) => f.path).sort()).toEqual(['params.url', 'priority']);
    const missing = submitted(await api.graphql(SUBMIT, { input: { type: 'single_product', params: {} } }));
    expect(missing.fields).toEqual([{ path: 'params.url', message: 'required' }]);
  });

  it('refuses too many labels, long values and control characters', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    for (const labels of [
      many,
      [{ key: 'shop', value: 'x'.repeat(257) }],
      [{ key: 'shop', value: '\u001b[31mred' }],
    ]) {
      const result = submitted(
        await api.graphql(SUBMIT, { input: { type: 'single_product', params: { url: URL_OK }, labels } }),
      );
      expect(result.__typename).toBe('ValidationError');
      expect(result.fields![0]!.path).toMatch(/^labels/);
    }
  });

  it('tasks(after:) garbage and first out of range answer VALIDATION', async () => {
    for (const args of ['after: "garbage!"', 'after: "1795866737266-0"', 'first: -1', 'first: 501']) {
      const result = await api.graphql(`query { tasks(${args}) { nodes { id } } }`);
      expect(result.errors?.[0]?.extensions?.code, `${args} ${result.errors?.[0]?.message}`).toBe(
        'VALIDATION',
      );
    }
  });

  it('a huge first is refused by the cost limit, with a code', async () => {
    const result = await api.graphql('query { tasks(first: 1000000000) { nodes { id } } }');
    expect(result.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a page of the documented maximum size passes the cost limit, and a costlier query is told the limit', async () => {
    const page = await api.graphql(`query {
      tasks(first: 500) {
        nodes { id type status createdAt lastError { code message } attempts { attempt startedAt error { code } } }
        pageInfo { endCursor hasNextPage }
        totalCount
      }
    }`);
    expect(page.errors).toBeUndefined();
    const nested = 'children { '.repeat(9);
    const costly = await api.graphql(
      `query { ${Array.from({ length: 25 }, (_, i) => `a${i}: tasks(first: 500) { nodes { id ${nested} id ${'}'.repeat(9)} } }`).join(' ')} }`,
    );
    expect(costly.errors![0]!.message).toMatch(/Cost limit of 50000/);
    expect(costly.errors![0]!.extensions?.code, costly.errors![0]!.message).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('production mode suggests nothing, not even enum values', async () => {
    const bad = await production.graphql(
      `mutation { submitTask(input: { type: "single_product", params: {}, order: FIF }) { __typename } }`,
    );
    const field = await production.graphql('query { taks { id } }');
    for (const error of [...bad.errors!, ...field.errors!]) expect(error.message).not.toMatch(/Did you mean/);
    expect(bad.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
