// The REST facade (/api/*) for scripts and webhooks, against a real API process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Stack, startStack, testLabel, waitForStatus } from './api-fixture';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('api-rest');
});
afterAll(() => stack?.stop());

/** The REST answers' shapes, loosely: each test reads the part its route returns. */
interface RestBody {
  created: boolean;
  task: { id: string; status: string };
  error: { code: string; fields?: { path: string }[] };
  queues: { name: string; counts: Record<string, number> }[];
  workers: unknown[];
}

/** Calls `/api/<path>` with the admin token unless `token` is given (null: none). */
async function rest(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${stack.apis[0]!.url}/api/${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as RestBody };
}

const task = (label = testLabel(), extra: Record<string, unknown> = {}) => ({
  type: 'single_product',
  params: { url: `${stack.catalogue.url}/products/p1` },
  labels: [label],
  ...extra,
});

describe('REST facade', () => {
  it('POST /api/tasks: 201 with the task; 400 naming fields; 401 for a bad token', async () => {
    const created = await rest('POST', 'tasks', task());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      created: true,
      task: { type: 'single_product', queue: 'products' },
    });

    const invalid = await rest('POST', 'tasks', { type: 'single_product', params: { url: 'nope' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'VALIDATION', fields: [{ path: 'params.url' }] });
    expect((await rest('POST', 'tasks', '{"type": ')).status).toBe(400);

    const refused = await rest('POST', 'tasks', task(), 'tp_not_a_real_token');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('GET /api/tasks/:id: 200 with the task, 404 for an unknown id', async () => {
    const { body } = await rest('POST', 'tasks', task());
    await waitForStatus(stack.admin, body.task.id);
    const found = await rest('GET', `tasks/${body.task.id}`);
    expect(found.status).toBe(200);
    expect(found.body.task).toMatchObject({
      id: body.task.id,
      status: 'SUCCESS',
      result: { productId: 'p1' },
    });
    const missing = await rest('GET', 'tasks/no-such-task');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('DELETE /api/tasks/:id cancels: 200, then 409 when already cancelled, 404 for an unknown id', async () => {
    const { body } = await rest('POST', 'tasks', task(testLabel(), { delayMs: 600_000 }));
    const cancelled = await rest('DELETE', `tasks/${body.task.id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.task.status).toBe('CANCELLED');
    expect((await rest('DELETE', `tasks/${body.task.id}`)).status).toBe(409);
    expect((await rest('DELETE', 'tasks/no-such-task')).status).toBe(404);
  });

  it('GET /api/stats: queues with counts and the workers online; unknown routes are 404', async () => {
    const stats = await rest('GET', 'stats');
    expect(stats.status).toBe(200);
    expect(stats.body.queues.map((q) => q.name)).toEqual(
      expect.arrayContaining(['products', 'search', 'shops', 'sync']),
    );
    expect(stats.body.queues[0]!.counts).toHaveProperty('pending');
    expect(stats.body.workers).toHaveLength(1);
    expect((await rest('GET', 'nothing-here')).status).toBe(404);
  });
});
