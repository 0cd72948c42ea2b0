import { ErrorCode, PermanentError, TimeoutError, TransientError } from '@taskplane/core';
import { type Catalogue, startCatalogue } from '@taskplane/test/catalogue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchJson, parseRetryAfter } from './http';

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await startCatalogue();
});
afterAll(() => catalogue.close());

const signal = () => new AbortController().signal;

async function failure(path: string, options: { timeoutMs?: number } = {}): Promise<unknown> {
  return fetchJson(`${catalogue.url}${path}`, { signal: signal(), ...options }).then(
    () => expect.unreachable(`GET ${path} should have failed`),
    (error: unknown) => error,
  );
}

describe('fetchJson', () => {
  it('returns the parsed body', async () => {
    const body = await fetchJson(`${catalogue.url}/products/p3`, { signal: signal() });
    expect(body).toMatchObject({ id: 'p3', shop_id: 's3' });
  });

  it('makes a 5xx transient, naming the path and status but not the query', async () => {
    const error = await failure('/products/p3?fault=500&token=secret');
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: ErrorCode.Transient, retryable: true });
    expect((error as Error).message).toBe('GET /products/p3 answered 500');
  });

  it('makes a 429 transient, waiting as long as Retry-After says', async () => {
    const error = await failure('/products/p3?fault=429&retry_after=7');
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 7000 });
  });

  it('makes a 404 permanent with NOT_FOUND', async () => {
    const error = await failure('/products/nope');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: ErrorCode.NotFound, retryable: false });
  });

  it('makes any other 4xx permanent', async () => {
    const error = await failure('/search');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: ErrorCode.Permanent, message: 'GET /search answered 400' });
  });

  it('makes a malformed body transient', async () => {
    const error = await failure('/products/p3?fault=malformed');
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/malformed JSON/);
  });

  it('makes a refused connection transient', async () => {
    const gone = await startCatalogue();
    await gone.close();
    const error = await fetchJson(`${gone.url}/products/p1`, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe('GET /products/p1 failed: network error');
  });

  it('gives up with a TimeoutError when the catalogue does not answer in time', async () => {
    const error = await failure('/products/p3?fault=hang', { timeoutMs: 50 });
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, retryable: true });
  });

  it('rejects with the abort reason, promptly, when the caller aborts a hanging request', async () => {
    const controller = new AbortController();
    const before = catalogue.requests;
    const pending = fetchJson(`${catalogue.url}/products/p3?fault=hang`, { signal: controller.signal });
    await vi.waitFor(() => expect(catalogue.requests).toBe(before + 1));
    const reason = new Error('cancelled by operator');
    const abortedAt = Date.now();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
  });

  it('does not send a request when the signal is already aborted', async () => {
    const before = catalogue.requests;
    const reason = new Error('shutting down');
    await expect(
      fetchJson(`${catalogue.url}/products/p3`, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(catalogue.requests).toBe(before);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores garbage', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
