import { describe, expect, it } from 'vitest';
import { createClient } from './client';
import { TaskplaneClientError, unwrap } from './errors';
import { HealthDocument, SubmitTaskDocument } from './generated/graphql';

interface Call {
  url: string;
  init: RequestInit;
}

/** A client whose fetch answers `status` with `body` and records what it was asked. */
function clientAnswering(status: number, body: unknown) {
  const calls: Call[] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  };
  const client = createClient({
    url: 'http://api.test/graphql',
    token: 'tp_secret',
    fetch: fetch as typeof globalThis.fetch,
  });
  return { client, calls };
}

async function failure(promise: Promise<unknown>): Promise<TaskplaneClientError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TaskplaneClientError);
  return error as TaskplaneClientError;
}

describe('request', () => {
  it('POSTs the printed document and variables as JSON with the bearer token', async () => {
    const { client, calls } = clientAnswering(200, {
      data: { health: { status: 'ok', workers: 1, redisVersion: '7' } },
    });
    expect(await client.health()).toEqual({ status: 'ok', workers: 1, redisVersion: '7' });
    const [call] = calls;
    expect(call!.url).toBe('http://api.test/graphql');
    expect(call!.init.method).toBe('POST');
    expect(call!.init.headers).toMatchObject({
      authorization: 'Bearer tp_secret',
      'content-type': 'application/json',
    });
    const body = JSON.parse(String(call!.init.body)) as { query: string; variables: unknown };
    expect(body.query).toMatch(/^query Health \{/);
    expect(body.variables).toEqual({});
  });

  it('turns GraphQL errors into TaskplaneClientError with code and retryable', async () => {
    const { client } = clientAnswering(200, {
      errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED' } }],
    });
    const error = await failure(client.request(HealthDocument));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', message: 'slow down', retryable: true, status: 200 });

    const refused = clientAnswering(401, {
      errors: [{ message: 'bad token', extensions: { code: 'UNAUTHENTICATED', retryable: false } }],
    });
    expect(await failure(refused.client.health())).toMatchObject({
      code: 'UNAUTHENTICATED',
      retryable: false,
      status: 401,
    });
  });

  it('reports an answer that is not GraphQL, and an unreachable server', async () => {
    const { client } = clientAnswering(502, '<html>bad gateway</html>');
    expect(await failure(client.health())).toMatchObject({
      code: 'BAD_RESPONSE',
      status: 502,
      retryable: true,
    });

    const offline = createClient({
      url: 'http://api.test/graphql',
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as typeof fetch,
    });
    expect(await failure(offline.health())).toMatchObject({ code: 'NETWORK', retryable: true });
  });
});

describe('unwrap', () => {
  it('returns the asked-for member and throws an error result with its fields', async () => {
    const { client } = clientAnswering(200, {
      data: {
        submitTask: {
          __typename: 'ValidationError',
          code: 'VALIDATION',
          message: 'invalid parameters',
          fields: [{ path: 'params.url', message: 'must be an http(s) URL' }],
        },
      },
    });
    const result = (await client.request(SubmitTaskDocument, { input: { type: 'single_product' } }))
      .submitTask;
    expect(result.__typename).toBe('ValidationError');
    const error = await failure(Promise.resolve().then(() => unwrap(result, 'SubmitTaskPayload')));
    expect(error).toMatchObject({ code: 'VALIDATION', retryable: false });
    expect(error.fields).toEqual([{ path: 'params.url', message: 'must be an http(s) URL' }]);
  });
});
