// Bad input, bad tokens and abuse: each gets a clear error and the server stays up.
import { createRedis, Keys } from '@taskplane/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskplaneClientError, unwrap } from '../../packages/client/src/index';
import { sharedRedisUrl } from '../helpers';
import {
  ADMIN_TOKEN,
  product,
  rejection,
  type Stack,
  startStack,
  submit,
  takeUntil,
  testLabel,
} from './api-fixture';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('api-security');
});
afterAll(() => stack?.stop());
// Whatever a test threw at it, the API still answers.
afterEach(async () => {
  expect((await stack.admin.health()).status).toBe('ok');
});

/** POSTs `body` as it is to /graphql with the admin token. */
async function post(
  body: string,
): Promise<{ status: number; body: { errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const response = await fetch(stack.apis[0]!.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body,
  });
  return { status: response.status, body: (await response.json()) as never };
}

const query = (text: string) => JSON.stringify({ query: text });

describe('malformed requests', () => {
  it('a body that is not JSON is a 400 that says so', async () => {
    const { status, body } = await post('{"query": ');
    expect(status).toBe(400);
    expect(body.errors![0]!.message).toMatch(/invalid JSON/);
  });

  it('a GraphQL syntax error names the problem and its place', async () => {
    const error = await rejection(stack.admin.request({ kind: 'Document', definitions: [] } as never));
    expect(error).toBeInstanceOf(TaskplaneClientError);
    const { body } = await post(query('{ health { status '));
    expect(body.errors![0]).toMatchObject({
      message: expect.stringMatching(/^Syntax Error/),
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  });

  it('a query nested 50 deep is refused by the depth limit', async () => {
    const deep = `{ task(id: "x") { ${'parent { '.repeat(49)}id${' }'.repeat(49)} } }`;
    const { body } = await post(query(deep));
    expect(body.errors![0]!.message).toMatch(/depth limit of \d+ exceeded/);
  });

  it('1,000 aliases are refused (by the token limit first); 40 by the alias limit', async () => {
    const many = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: health { status }`).join(' ')} }`;
    expect((await post(query(many(1000)))).body.errors![0]!.message).toMatch(/limit/i);
    expect((await post(query(many(40)))).body.errors![0]!.message).toMatch(/aliases/i);
  });

  it('a 10 MB document is refused with 413 before it is parsed', async () => {
    const { status, body } = await post(query(`{ health { status } }${' '.repeat(10 * 1024 * 1024)}`));
    expect(status).toBe(413);
    expect(body.errors![0]!.extensions!.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('invalid tasks', () => {
  it('invalid parameters are a ValidationError naming each field', async () => {
    const result = await stack.admin.submitTask({
      type: 'batch_products',
      params: { urls: ['https://ok.example/p1', 'ftp://bad'], batch_size: 0, extra: true },
    });
    expect(result).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    const paths = result.__typename === 'ValidationError' ? result.fields.map((f) => f.path).sort() : [];
    expect(paths).toEqual(['params.batch_size', 'params.extra', 'params.urls.1']);
  });

  it('an unknown task type is refused with the known types in the message', async () => {
    const result = await stack.admin.submitTask({ type: 'no_such_type', params: {} });
    expect(result).toMatchObject({
      __typename: 'ValidationError',
      message: expect.stringContaining('single_product'),
    });
  });
});

describe('tokens and roles', () => {
  it('a bad token is refused over HTTP with UNAUTHENTICATED', async () => {
    const stranger = stack.client('tp_not_a_real_token');
    expect(await rejection(stranger.health())).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
  });

  it('a bad token is answered with HTTP 401', async () => {
    const stranger = stack.client('tp_not_a_real_token');
    expect(await rejection(stranger.health())).toMatchObject({ status: 401 });
  });

  it('a bad token is refused on the WebSocket with close code 4403', async () => {
    const stranger = stack.client('tp_not_a_real_token');
    const events = stranger.watchTaskEvents();
    expect(await rejection(events.next())).toMatchObject({
      code: 'UNAUTHENTICATED',
      closeCode: 4403,
      retryable: false,
    });
  });

  it('a viewer reads and subscribes but gets ForbiddenError from a mutation; anonymous gets UnauthenticatedError', async () => {
    const viewer = stack.client(await stack.token('VIEWER'));
    expect(await viewer.viewer()).toMatchObject({ role: 'VIEWER' });
    expect(await viewer.submitTask(product(stack.catalogue, testLabel()))).toMatchObject({
      __typename: 'ForbiddenError',
      code: 'FORBIDDEN',
    });
    expect(await viewer.pauseQueue('products')).toMatchObject({ __typename: 'ForbiddenError' });
    expect(await viewer.createApiToken('escalate', 'ADMIN')).toMatchObject({ __typename: 'ForbiddenError' });
    const task = await submit(stack.admin, product(stack.catalogue, testLabel()));
    const updates = viewer.watchTask(task.id);
    expect((await takeUntil(updates, () => true))[0]!.task.id).toBe(task.id);
    updates.close();

    const anonymous = stack.client(null);
    expect(await anonymous.submitTask(product(stack.catalogue, testLabel()))).toMatchObject({
      __typename: 'UnauthenticatedError',
    });
  });

  it('an operator submits and cancels but cannot create tokens', async () => {
    const operator = stack.client(await stack.token('OPERATOR'));
    const task = await submit(operator, product(stack.catalogue, testLabel(), 'p1', { delayMs: 600_000 }));
    expect(unwrap(await operator.cancelTask(task.id), 'Task').status).toBe('CANCELLED');
    expect(await operator.createApiToken('escalate', 'ADMIN')).toMatchObject({
      __typename: 'ForbiddenError',
    });
  });
});

describe('subscriptions', () => {
  /** Opens `n` task subscriptions on one client's socket; each answers at once or is refused. */
  async function openSubscriptions(n: number) {
    const client = stack.client();
    const task = await submit(client, product(stack.catalogue, testLabel()));
    const subscriptions = Array.from({ length: n }, () => client.watchTask(task.id));
    const outcomes = await Promise.all(
      subscriptions.map((s) =>
        s.next().then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    return { client, task, subscriptions, refused: outcomes.filter((o) => o !== null) };
  }

  it('more subscriptions on one socket than allowed fail with TOO_MANY_SUBSCRIPTIONS; the socket stays up', async () => {
    const { client, task, subscriptions, refused } = await openSubscriptions(60);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    for (const error of refused) expect(error).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    for (const s of subscriptions) s.close();
    const again = client.watchTask(task.id);
    expect((await again.next()).value).toMatchObject({ task: { id: task.id } });
    again.close();
  });

  it('allows max_subscriptions_per_socket (50) subscriptions on one socket', async () => {
    const { subscriptions, refused } = await openSubscriptions(50);
    for (const s of subscriptions) s.close();
    expect(refused).toEqual([]);
  });

  it('a cursor older than the event log keeps fails with CURSOR_EXPIRED; a malformed one with VALIDATION', async () => {
    const label = testLabel();
    await submit(stack.admin, product(stack.catalogue, label, 'p1', { delayMs: 600_000 }));
    await submit(stack.admin, product(stack.catalogue, label, 'p2', { delayMs: 600_000 }));
    const all = stack.admin.watchTaskEvents({ after: '0', filter: { labels: [label] } });
    const [first] = await takeUntil(all, (_e, taken) => taken.length === 2);
    all.close();
    // Retention passes: the log keeps only its newest entry.
    const redis = createRedis({ url: sharedRedisUrl(), role: 'worker' });
    await redis.xtrim(new Keys(stack.prefix).events, 'MAXLEN', 1);
    redis.disconnect();

    const expired = stack.admin.watchTaskEvents({ after: first!.cursor });
    expect(await rejection(expired.next())).toMatchObject({ code: 'CURSOR_EXPIRED', retryable: false });
    const malformed = stack.admin.watchTaskEvents({ after: 'yesterday' });
    expect(await rejection(malformed.next())).toMatchObject({ code: 'VALIDATION' });
  });
});
