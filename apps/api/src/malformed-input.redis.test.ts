// Two hundred and more malformed cursors and filters, over HTTP and over graphql-ws: each one is
// answered with a typed error (a stable code, never INTERNAL) and the API keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

interface WireError {
  message: string;
  extensions?: { code?: string };
}

const BAD_CURSORS = [
  '',
  ' ',
  'abc',
  'garbage!',
  '-1',
  '1-',
  '-1-0',
  '1--0',
  '1-2-3',
  '1.5-0',
  '1-0.5',
  '0x10-0',
  '1e3-0',
  '+1-0',
  '1 -0',
  '１２-0',
  '99999999999999999999-0',
  '1796088709120-99999999999999999',
  '18446744073709551616-0',
  '0-18446744073709551616',
  '9999999999999-0',
  '4102444800000-0',
  `${'9'.repeat(400)}-0`,
  'null',
  'undefined',
  '[]',
  '{}',
  '0-0-0',
  '*',
  '$',
  '>',
  '-',
  '+',
  '(0',
  '1-0\n',
  '\u0000',
  'eyJ4IjoxfQ',
  'Ojo6',
  'OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTpf',
  // And twenty printable strings of a fixed pseudo-random make-up.
  ...Array.from({ length: 20 }, (_, i) => {
    let x = i * 7919 + 13;
    let text = '';
    for (let n = 0; n < 4 + (i % 9); n++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      text += String.fromCharCode(33 + (x % 94));
    }
    return /^\d+-\d+$|^0$/.test(text) ? `${text}!` : text;
  }),
];

const BAD_FILTERS: Record<string, unknown>[] = [
  { status: ['NOPE'] },
  { status: 'PENDING!' },
  { status: [1] },
  { type: [{}] },
  { queue: 5 },
  { labels: [{ key: '', value: 'x' }] },
  { labels: [{ key: 'a' }] },
  { labels: 'a=b' },
  { createdAfter: 'yesterday' },
  { createdAfter: '2026-02-30T00:00:00Z' },
  { createdBefore: 'not a date' },
  { createdBefore: 1e30 },
  { createdAfter: true },
  { errorText: 5 },
  { unknownField: 1 },
  { status: null, type: [null] },
  { labels: [{ key: 'a', value: 'b', extra: 1 }] },
  { createdAfter: '' },
  { createdAfter: '2026-13-01T00:00:00Z' },
  { queue: ['a'.repeat(10_000)] },
];

const BAD_PAGES: Record<string, unknown>[] = [
  { first: -1 },
  { first: 0 },
  { first: 1e9 },
  { first: 5.5 },
  { first: '10' },
  { first: null, after: 5 },
];

async function expectTyped(errors: WireError[] | undefined, what: string): Promise<void> {
  expect(errors?.length ?? 0, what).toBeGreaterThan(0);
  for (const error of errors!) {
    expect(error.extensions?.code, `${what}: ${error.message}`).toMatch(/^[A-Z_]+$/);
    expect(error.extensions?.code, `${what}: ${error.message}`).not.toBe('INTERNAL');
  }
}

function subscribeOnce(query: string, variables: Record<string, unknown>): Promise<WireError[]> {
  const client = api.ws();
  return new Promise((resolve, reject) => {
    const stop = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          stop();
          if (value.errors) resolve(value.errors as WireError[]);
          else reject(new Error(`expected an error, got ${JSON.stringify(value.data)}`));
        },
        error: (error) =>
          resolve(Array.isArray(error) ? (error as WireError[]) : [{ message: String(error) }]),
        complete: () => reject(new Error('completed without an error')),
      },
    );
  });
}

describe('malformed cursors and filters', () => {
  it('taskEvents(after:) refuses every malformed, out-of-range or future cursor with VALIDATION', async () => {
    const query = 'subscription ($after: String) { taskEvents(after: $after) { cursor } }';
    for (const after of BAD_CURSORS) {
      const errors = await subscribeOnce(query, { after });
      await expectTyped(errors, `taskEvents after ${JSON.stringify(after)}`);
      expect(errors[0]!.extensions?.code, JSON.stringify(after)).toBe('VALIDATION');
    }
  });

  it('tasks(after:) refuses every malformed cursor, and page sizes out of range', async () => {
    const query =
      'query ($after: String, $first: Int) { tasks(after: $after, first: $first) { nodes { id } } }';
    for (const after of BAD_CURSORS) {
      const { errors } = await api.graphql(query, { after });
      await expectTyped(errors, `tasks after ${JSON.stringify(after)}`);
    }
    for (const page of BAD_PAGES) {
      const { errors } = await api.graphql(query, page);
      await expectTyped(errors, `tasks ${JSON.stringify(page)}`);
    }
  });

  it('filters with wrong types, unknown values or impossible dates are refused with a code, on every entry point', async () => {
    const queries = [
      'query ($filter: TaskFilter) { tasks(filter: $filter) { nodes { id } } }',
      'query ($filter: TaskFilter) { deadLetters(filter: $filter) { nodes { id } } }',
      'mutation ($filter: TaskFilter) { requeueDeadLetters(filter: $filter, dryRun: true) { __typename } }',
    ];
    for (const query of queries) {
      for (const filter of BAD_FILTERS) {
        const { errors } = await api.graphql(query, { filter });
        await expectTyped(errors, `${query.slice(0, 30)} ${JSON.stringify(filter).slice(0, 80)}`);
      }
    }
    for (const filter of BAD_FILTERS) {
      const errors = await subscribeOnce(
        'subscription ($filter: TaskFilter) { taskEvents(filter: $filter) { cursor } }',
        { filter },
      );
      await expectTyped(errors, `taskEvents filter ${JSON.stringify(filter).slice(0, 80)}`);
    }
    // Still serving.
    expect((await api.graphql('{ health { status } }')).data).toBeTruthy();
  });

  it('refuses impossible dates instead of rolling them over', async () => {
    const submit =
      'mutation ($input: SubmitTaskInput!) { submitTask(input: $input) { __typename ... on SubmitTaskPayload { task { runAt } } } }';
    for (const runAt of [
      '2026-02-30T10:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:00:00',
    ]) {
      const { errors } = await api.graphql(submit, {
        input: { type: 'single_product', params: { url: 'http://127.0.0.1:9/p' }, runAt },
      });
      await expectTyped(errors, `runAt ${runAt}`);
      expect(errors![0]!.message).toMatch(/ISO 8601/);
    }
    const { data } = await api.graphql<{ submitTask: { task: { runAt: string } } }>(submit, {
      input: {
        type: 'single_product',
        params: { url: 'http://127.0.0.1:9/p' },
        runAt: '2028-02-29T10:00:00+08:00',
      },
    });
    expect(data?.submitTask.task.runAt).toBe('2028-02-29T02:00:00.000Z');
  });
});
