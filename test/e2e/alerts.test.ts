import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@taskplane/core';
import { SIGNATURE_HEADER, verifyWebhook } from '@taskplane/queue';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ApiProcess,
  graphqlData,
  type RunningProcess,
  startAlertBot,
  startApp,
  TEST_TYPES_CONFIG,
  type TestEngine,
  testEngine,
  uniquePrefix,
  waitUntil,
} from '../helpers';

// Alerts with real API, worker and bot processes: a failure rate that fires once and resolves
// across two evaluating APIs (one killed), a webhook receiver that fails twice, the alert bot
// killed and restarted, and a worker killed outright.

const TOKEN = 'tp_e2e_alerts_admin_token_0123456789';
const SECRET = 'e2e-webhook-secret-0123456789';
/** The default rules of config/taskplane.yaml. */
const DEFAULT_RULES = Object.keys(loadConfig().alerts.rules);

/** The test types, alerts evaluated every 200 ms, and only the rules given turned on. */
function alertsConfig(rules: Record<string, unknown>, webhooks: unknown[] = []) {
  const off = Object.fromEntries(DEFAULT_RULES.map((name) => [name, { enabled: false }]));
  return {
    ...TEST_TYPES_CONFIG,
    alerts: {
      interval: '200ms',
      lease_duration: '2s',
      defaults: { window: '60s', for: '1s', cooldown: '0s' },
      rules: { ...off, ...rules },
      webhooks,
      delivery: { max_attempts: 5, base_delay: '100ms', timeout: '5s' },
    },
  };
}

interface AlertEventView {
  cursor: string;
  kind: 'FIRED' | 'RESOLVED';
  at: string;
  alert: { id: string; ruleId: string; queue: string | null; workerId: string | null; value: number | null };
}

const processes: RunningProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
let t: TestEngine | null = null;

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGTERM', 5000)));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await t?.close();
  t = null;
});

async function stack(name: string, config: Record<string, unknown>, apis = 1) {
  const prefix = uniquePrefix(name);
  t = testEngine(prefix, config);
  const options = { prefix, configOverrides: config, env: { TASKPLANE_AUTH__BOOTSTRAP_TOKEN: TOKEN } };
  const started = await Promise.all(Array.from({ length: apis }, () => startApp('api', options)));
  processes.push(...started);
  const worker = async () => {
    const process = await startApp('worker', options);
    processes.push(process);
    const ready = await process.waitForLine(/"workerId":"([^"]+)".*worker ready/, 30_000);
    return { process, id: ready[1]! };
  };
  return { apis: started, engine: t.engine, worker };
}

function graphql<T>(api: ApiProcess, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return graphqlData<T>(api.graphqlUrl, TOKEN, query, variables);
}

/** Every alert event the log keeps, oldest first, through the `alerts` history query. */
async function history(api: ApiProcess): Promise<AlertEventView[]> {
  const data = await graphql<{ alerts: { nodes: AlertEventView[] } }>(
    api,
    `{ alerts(first: 500) { ... on AlertEventConnection { nodes { cursor kind at
        alert { id ruleId queue workerId value } } } } }`,
  );
  return data.alerts.nodes.reverse();
}

const LEADS = /alert evaluator: this process now leads/;

describe('alerts', () => {
  it('fires one failure-rate alert after the hold time and resolves it, with two APIs evaluating and the leader killed', async () => {
    const config = alertsConfig({ failure_rate: { enabled: true, queue: 'bulk' } });
    const { apis, engine, worker } = await stack('alerts-rate', config, 2);
    await worker();
    const [a, b] = apis as [ApiProcess, ApiProcess];
    const leader = await Promise.race([a, b].map((api) => api.waitForLine(LEADS).then(() => api)));
    const follower = leader === a ? b : a;

    const submittedAt = Date.now();
    const failing = Array.from({ length: 5 }, () => ({ type: 'fail', params: {} }));
    const passing = Array.from({ length: 5 }, (_, n) => ({ type: 'noop', params: { n } }));
    await engine.submitMany([...failing, ...passing]);
    const [fired] = await waitUntil(async () => {
      const events = await history(follower);
      return events.length ? events : undefined;
    }, 'the failure-rate alert to fire');
    expect(fired).toMatchObject({
      kind: 'FIRED',
      alert: { ruleId: 'config:failure_rate', queue: 'bulk', value: 0.5 },
    });
    // Held for `for` (1 s) before firing: the rate was over 0.1 from the first tasks' end at the earliest.
    expect(Date.parse(fired!.at) - submittedAt).toBeGreaterThanOrEqual(1000);

    // The leader dies with the alert firing; the other API takes over from the state in Redis.
    await leader.kill();
    await follower.waitForLine(LEADS);
    await engine.submitMany(Array.from({ length: 100 }, (_, n) => ({ type: 'noop', params: { n } })));
    const events = await waitUntil(async () => {
      const all = await history(follower);
      return all.some((e) => e.kind === 'RESOLVED') ? all : undefined;
    }, 'the alert to resolve');
    expect(events.map((e) => [e.kind, e.alert.id, e.alert.queue])).toEqual([
      ['FIRED', fired!.alert.id, 'bulk'],
      ['RESOLVED', fired!.alert.id, 'bulk'],
    ]);
    expect(events[1]!.alert.value).toBeLessThan(0.09);
    const { firingAlerts } = await graphql<{ firingAlerts: unknown[] }>(follower, '{ firingAlerts { id } }');
    expect(firingAlerts).toEqual([]);
  });

  it('delivers an alert to a webhook that fails twice on the third try, signed', async () => {
    const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.statusCode = requests.length <= 2 ? 500 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const config = alertsConfig({ queue_size: { enabled: true, queue: 'slow', threshold: 0, for: '0s' } }, [
      { url, secret: SECRET },
    ]);
    const { apis, engine } = await stack('alerts-webhook', config);
    await engine.submit({ type: 'sleep', params: { ms: 1 } }); // no worker: it stays pending

    await waitUntil(async () => (requests.length >= 3 ? true : undefined), 'three delivery attempts');
    const [first, second, third] = requests;
    expect(verifyWebhook(SECRET, third!.body, third!.headers[SIGNATURE_HEADER] as string)).toBe(true);
    expect(
      verifyWebhook('another-secret-0123456789', third!.body, third!.headers[SIGNATURE_HEADER] as string),
    ).toBe(false);
    const event = JSON.parse(third!.body) as AlertEventView & { kind: string };
    expect(event).toMatchObject({
      kind: 'fired',
      alert: { ruleId: 'config:queue_size', queue: 'slow', value: 1 },
    });
    // The same event each time, under one delivery id.
    expect(new Set([first, second, third].map((r) => r!.body)).size).toBe(1);
    expect(new Set([first, second, third].map((r) => r!.headers['x-taskplane-delivery'])).size).toBe(1);

    const deliveries = await waitUntil(async () => {
      const { firingAlerts } = await graphql<{
        firingAlerts: {
          deliveries: { attempt: number; ok: boolean; status: number | null; final: boolean }[];
        }[];
      }>(apis[0]!, '{ firingAlerts { deliveries { attempt ok status final } } }');
      const seen = firingAlerts[0]?.deliveries ?? [];
      return seen.length >= 3 ? seen : undefined;
    }, 'the attempts to be recorded');
    expect(deliveries).toEqual([
      { attempt: 1, ok: false, status: 500, final: false },
      { attempt: 2, ok: false, status: 500, final: false },
      { attempt: 3, ok: true, status: 200, final: true },
    ]);
    expect(requests).toHaveLength(3);
  });

  it('the alert bot, killed and restarted, gets the alerts it missed from its saved cursor, none twice', async () => {
    const config = alertsConfig({ queue_size: { enabled: true, queue: 'slow', threshold: 0, for: '0s' } });
    const { apis, engine } = await stack('alerts-bot', config);
    const api = apis[0]!;
    const dir = mkdtempSync(path.join(tmpdir(), 'tptest-alert-bot-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const cursorFile = path.join(dir, 'cursor');
    const args = ['--url', api.graphqlUrl, '--token', TOKEN, '--cursor-file', cursorFile];
    const forwarded = (bot: RunningProcess) =>
      bot.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AlertEventView);
    const logged = async (count: number) =>
      waitUntil(async () => {
        const events = await history(api);
        return events.length >= count ? events : undefined;
      }, `${count} alert events`);

    const first = startAlertBot(args);
    processes.push(first);
    await first.waitForLine(/listening for alerts/);
    const one = await engine.submit({ type: 'sleep', params: { ms: 1 } });
    const [line] = await first.waitForLine(/^\{.*"kind":"FIRED".*$/);
    // Killed once it has handled the alert (forwarded and saved its cursor); a kill between the two
    // would forward that one alert again, as examples/alert-bot/README.md says.
    const handled = (JSON.parse(line!) as AlertEventView).cursor;
    await waitUntil(
      async () => (readFileSync(cursorFile, 'utf8').trim() === handled ? true : undefined),
      'the bot to save its cursor',
    );
    await first.kill();

    // While the bot is down: resolved, fired, resolved.
    await logged(1);
    await engine.cancel(one.task.id);
    await logged(2);
    const two = await engine.submit({ type: 'sleep', params: { ms: 1 } });
    await logged(3);
    await engine.cancel(two.task.id);
    await logged(4);

    const second = startAlertBot(args);
    processes.push(second);
    await waitUntil(async () => (forwarded(second).length >= 3 ? true : undefined), 'the missed alerts', {
      describe: () => second.output(),
    });
    // And live again after the catch-up.
    await engine.submit({ type: 'sleep', params: { ms: 1 } });
    const all = await logged(5);
    await waitUntil(async () => (forwarded(second).length >= 4 ? true : undefined), 'the live alert');

    const received = [...forwarded(first), ...forwarded(second)].map((e) => e.cursor);
    expect(received).toEqual(all.map((e) => e.cursor));
    expect(all.map((e) => e.kind)).toEqual(['FIRED', 'RESOLVED', 'FIRED', 'RESOLVED', 'FIRED']);
  });

  it('raises worker-gone for a worker killed outright, and not for one that stopped gracefully', async () => {
    // A death is an event: its alert resolves once the rule's window has passed since it fired.
    const config = alertsConfig({ worker_gone: { enabled: true, window: '3s' } });
    const { apis, engine, worker } = await stack('alerts-gone', config);
    const [killed, stopped, killedLater] = await Promise.all([worker(), worker(), worker()]);
    const { redis, keys } = engine;
    // The evaluator has seen all three online.
    await waitUntil(async () => {
      const known = await redis.hkeys(keys.alertsWorkers);
      return [killed, stopped, killedLater].every((w) => known.includes(w!.id)) ? true : undefined;
    }, 'the evaluator to know the workers');

    await stopped!.process.stop('SIGTERM');
    await killed!.process.kill();
    const gone = (events: AlertEventView[]) =>
      events.filter((e) => e.kind === 'FIRED').map((e) => e.alert.workerId);
    // On a failure, say what the evaluator holds and what it logged.
    const state = async () =>
      JSON.stringify({
        state: await redis.hgetall(keys.alertState),
        known: await redis.hkeys(keys.alertsWorkers),
        log: apis[0]!.lines.filter((l) => /alert/.test(l)).slice(-10),
      });
    let seen = '';
    const fired = async (count: number) =>
      waitUntil(
        async () => {
          const all = await history(apis[0]!);
          seen = await state();
          return gone(all).length >= count ? all : undefined;
        },
        `${count} worker-gone alerts`,
        { describe: () => seen },
      );
    await fired(1);
    await killedLater!.process.kill();
    const events = await fired(2);
    expect(gone(events)).toEqual([killed!.id, killedLater!.id]);
    expect(events.every((e) => e.alert.ruleId === 'config:worker_gone')).toBe(true);

    const after = await waitUntil(
      async () => {
        const all = await history(apis[0]!);
        seen = await state();
        return all.filter((e) => e.kind === 'RESOLVED').length >= 2 ? all : undefined;
      },
      'the worker-gone alerts to resolve',
      { describe: () => seen },
    );
    const ids = (kind: string) =>
      after
        .filter((e) => e.kind === kind)
        .map((e) => e.alert.id)
        .sort();
    expect(after).toHaveLength(4);
    expect(ids('RESOLVED')).toEqual(ids('FIRED'));
  });
});
