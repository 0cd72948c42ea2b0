// Alert rules, webhooks and the `alerts` subscription in process, over HTTP and a real WebSocket.
import { type Alert, loadConfig } from '@taskplane/core';
import { encodeAlertEvent } from '@taskplane/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApi, type TestApi } from './testing/api-harness';

/** The default rules of config/taskplane.yaml. */
const RULES = Object.keys(loadConfig().alerts.rules);

let api: TestApi;
beforeAll(async () => {
  // The default rules off: the events of this test are the ones it appends itself.
  api = await startTestApi({
    alerts: { rules: Object.fromEntries(RULES.map((name) => [name, { enabled: false }])) },
  });
});
afterAll(async () => {
  await api?.close();
});

const alert = (n: number): Alert => ({
  id: `alert_${n}`,
  ruleId: 'config:queue_size',
  ruleName: 'queue_size',
  metric: 'queue_size',
  severity: n % 2 ? 'critical' : 'warning',
  queue: 'products',
  type: null,
  workerId: null,
  labels: {},
  comparison: 'gt',
  threshold: 1000,
  value: 1000 + n,
  summary: `alert ${n}`,
  firedAt: n,
  resolvedAt: null,
});

/** Appends alert events as the evaluator does (it is the only writer in production). */
async function append(from: number, count: number): Promise<string[]> {
  const { redis, keys } = api.services;
  const ids: string[] = [];
  for (let n = from; n < from + count; n++)
    ids.push((await redis.xadd(keys.alertsLog, '*', 'e', encodeAlertEvent('fired', n, alert(n))))!);
  return ids;
}

const SUBSCRIBE = `subscription ($after: String, $filter: AlertFilter) {
  alerts(after: $after, filter: $filter) { cursor kind alert { id severity value } } }`;

describe('alert rules and webhooks', () => {
  it('creates, lists, updates, mutes and deletes rules; refuses bad ones naming the field', async () => {
    const bad = await api.graphql<{ createAlertRule: { __typename: string; fields: { path: string }[] } }>(
      `mutation { createAlertRule(input: { name: "x", metric: FAILURE_RATE, threshold: 0.2, queue: "nope" }) {
        __typename ... on ValidationError { fields { path } } } }`,
    );
    expect(bad.data!.createAlertRule.__typename).toBe('ValidationError');
    expect(bad.data!.createAlertRule.fields.map((f) => f.path)).toEqual(['queue']);
    const long = await api.graphql<{ createAlertRule: { fields: { path: string }[] } }>(
      `mutation { createAlertRule(input: { name: "x", metric: STALLED, threshold: 1, windowSeconds: 99999 }) {
        ... on ValidationError { fields { path } } } }`,
    );
    expect(long.data!.createAlertRule.fields.map((f) => f.path)).toEqual(['windowSeconds']);

    const created = await api.graphql<{
      createAlertRule: { id: string; forSeconds: number; windowSeconds: number };
    }>(
      `mutation { createAlertRule(input: { name: "slow crawl", metric: AVG_DURATION, threshold: 5000, queue: "shops",
        labels: [{ key: "team", value: "catalogue" }], forSeconds: 30 }) {
        ... on AlertRule { id forSeconds windowSeconds } } }`,
    );
    const { id, forSeconds, windowSeconds } = created.data!.createAlertRule;
    expect({ forSeconds, windowSeconds }).toEqual({ forSeconds: 30, windowSeconds: 300 });

    const updated = await api.graphql<{
      updateAlertRule: { threshold: number; queue: string; labels: unknown[] };
    }>(
      `mutation ($id: ID!) { updateAlertRule(id: $id, input: { threshold: 9000 }) {
        ... on AlertRule { threshold queue labels { key value } } } }`,
      { id },
    );
    expect(updated.data!.updateAlertRule).toEqual({
      threshold: 9000,
      queue: 'shops',
      labels: [{ key: 'team', value: 'catalogue' }],
    });

    const configured = await api.graphql<{ updateAlertRule: { __typename: string } }>(
      `mutation { updateAlertRule(id: "config:queue_size", input: { threshold: 5 }) { __typename } }`,
    );
    expect(configured.data!.updateAlertRule.__typename).toBe('ConflictError');

    const until = new Date(Date.now() + 3_600_000).toISOString();
    const muted = await api.graphql<{ muteAlertRule: { mutedUntil: string } }>(
      `mutation ($until: DateTime) { muteAlertRule(id: "config:queue_size", until: $until) { ... on AlertRule { mutedUntil } } }`,
      { until },
    );
    expect(muted.data!.muteAlertRule.mutedUntil).toBe(until);

    const listed = await api.graphql<{
      alertRules: { id: string; source: string; mutedUntil: string | null }[];
    }>('{ alertRules { id source mutedUntil } }');
    expect(listed.data!.alertRules.map((r) => r.id)).toEqual([...RULES.map((r) => `config:${r}`), id]);
    expect(listed.data!.alertRules.find((r) => r.id === 'config:queue_size')!.mutedUntil).toBe(until);

    await api.graphql(`mutation ($id: ID!) { deleteAlertRule(id: $id) { __typename } }`, { id });
    const after = await api.graphql<{ alertRules: { id: string }[] }>('{ alertRules { id } }');
    expect(after.data!.alertRules.map((r) => r.id)).not.toContain(id);
  });

  it('adds webhooks (admin), never shows their secret, and refuses a short secret', async () => {
    const short = await api.graphql<{
      createAlertWebhook: { __typename: string; fields: { path: string }[] };
    }>(
      `mutation { createAlertWebhook(url: "http://127.0.0.1:9/hook", secret: "short") {
        __typename ... on ValidationError { fields { path } } } }`,
    );
    expect(short.data!.createAlertWebhook).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: 'secret' }],
    });
    await api.graphql(
      `mutation { createAlertWebhook(url: "http://127.0.0.1:9/hook", secret: "0123456789abcdef", minSeverity: CRITICAL) { __typename } }`,
    );
    const listed = await api.graphql<{ alertWebhooks: unknown[] }>(
      '{ alertWebhooks { url minSeverity source } }',
    );
    expect(listed.data!.alertWebhooks).toEqual([
      { url: 'http://127.0.0.1:9/hook', minSeverity: 'CRITICAL', source: 'API' },
    ]);
  });
});

describe('the alerts subscription', () => {
  it('resumes after a cursor with every later event once, in order, while events keep coming', async () => {
    const before = await append(0, 10);
    const after = before[3]!;
    const expected = 6 + 30;
    const stream = collect<{ alerts: { cursor: string; alert: { id: string } } }>(
      api.ws(),
      SUBSCRIBE,
      { after },
      expected,
    );
    // Appended while the subscription replays and hands over to the live tail.
    const during = append(10, 30);
    const [received, live] = await Promise.all([stream.done, during]);
    expect(received.map((r) => r.alerts.cursor)).toEqual([...before.slice(4), ...live]);
  });

  it('shares an execution only within a role: a viewer is refused an operator field an admin gets', async () => {
    const { token: viewer } = await api.services.tokens.create('alerts-viewer', 'viewer');
    const document = `subscription ($after: String) {
      alerts(after: $after) { cursor alert { id deliveries { webhookId } } } }`;
    // The admin first: it is the first subscriber of the document to be handed each event.
    const [last] = await append(100, 1);
    const admin = collect<{ alerts: { alert: { id: string; deliveries: unknown[] } } }>(
      api.ws(),
      document,
      { after: last },
      1,
    );
    const viewers = collect(api.ws(viewer), document, { after: last }, 1);
    const refused = viewers.done.then(
      () => null,
      (error: Error) => error.message,
    );
    await Promise.all([admin.ready, viewers.ready]);
    for (let i = 0; i < 100 && (await api.metrics.subscriptions.get()).values[0]?.value !== 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await append(101, 1);
    const [received] = await admin.done;
    expect(received!.alerts.alert).toEqual({ id: 'alert_101', deliveries: [] });
    expect(await refused).toBe('the viewer role may not do this');
  });

  it('filters by severity and refuses a malformed or future cursor', async () => {
    const [first] = await append(100, 1);
    const stream = collect<{ alerts: { alert: { severity: string; value: number } } }>(
      api.ws(),
      SUBSCRIBE,
      { after: first, filter: { severity: ['CRITICAL'] } },
      2,
    );
    await append(101, 4);
    const received = await stream.done;
    expect(received.map((r) => [r.alerts.alert.severity, r.alerts.alert.value])).toEqual([
      ['CRITICAL', 1101],
      ['CRITICAL', 1103],
    ]);
    for (const cursor of ['yesterday', '99999999999999-0']) {
      const refused = collect(api.ws(), SUBSCRIBE, { after: cursor }, 1);
      await expect(refused.done).rejects.toThrow(/cursor/);
    }
  });
});
