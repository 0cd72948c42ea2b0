// Client mistakes are the client's business: the API logs them below error level, which is for
// server faults an operator must look at.
import { createLogger } from '@taskplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './testing/api-harness';
import { createGraphQL } from './yoga';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

const SUBMIT = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { __typename } }`;
const MISTAKES: { query: string; variables?: Record<string, unknown> }[] = [
  { query: SUBMIT, variables: { input: { type: 'single_product', priority: 5.5 } } },
  { query: SUBMIT, variables: { input: { type: 'single_product', params: { url: 5 }, priority: 11 } } },
  { query: SUBMIT, variables: { input: { type: 'single_product', runAt: 'nope' } } },
  { query: SUBMIT, variables: { input: { type: 'nope', labels: [{ key: 'a b', value: 'x' }] } } },
  { query: SUBMIT },
  { query: 'query { taks { id } }' },
  { query: 'query { tasks(' },
  { query: 'query { tasks(after: "garbage!") { nodes { id } } }' },
  { query: 'query { tasks(first: 1000000000) { nodes { id } } }' },
  { query: 'query { task(id: 5) { nodes } }' },
  { query: 'mutation { submitTask(input: { type: "single_product", params: [1, 2] }) { __typename } }' },
];

describe('logging client mistakes', () => {
  it('logs none of them at error level', async () => {
    // The process's own logger, with its error and fatal levels recorded.
    const errorLines: unknown[][] = [];
    const logger = createLogger('api-test', 'silent');
    logger.error = ((...args: unknown[]) => void errorLines.push(args)) as typeof logger.error;
    logger.fatal = ((...args: unknown[]) => void errorLines.push(args)) as typeof logger.fatal;
    const yoga = createGraphQL(api.services, api.metrics, new RateLimiter(null), logger);
    for (const mistake of MISTAKES) {
      const response = await yoga.fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(mistake),
      });
      const body = (await response.json()) as { errors?: unknown[]; data?: unknown };
      expect(body.errors ?? body.data, mistake.query).toBeTruthy();
    }
    expect(errorLines).toEqual([]);
  });
});
