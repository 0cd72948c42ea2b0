// Server-sent events live as long as their subscription; the request-duration histogram is for
// requests that answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './testing/api-harness';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

async function graphqlObservations(): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('taskplane_api_request_duration_seconds_count{route="/graphql"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('request-duration histogram', () => {
  it('counts plain requests but not server-sent event streams', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
    const body = JSON.stringify({ query: '{ health { status } }' });
    const sse = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { ...headers, accept: 'text/event-stream' },
      body,
    });
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    await sse.text(); // the stream ends: before the fix, this is when it was observed
    const plain = await fetch(`${api.url}/graphql`, { method: 'POST', headers, body });
    await plain.text();
    // The plain request is observed once its answer is sent; wait for that, then count.
    let observed = await graphqlObservations();
    while (observed < 1) observed = await graphqlObservations();
    expect(observed).toBe(1);
  });
});
