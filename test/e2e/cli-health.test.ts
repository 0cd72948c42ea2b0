// `taskplane health` as a cron job or probe runs it: against a plane on its own redis-server, which
// the test stops and starts again.
import { spawnRedisServer } from '@taskplane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePlane, startPrivatePlane } from '../helpers';
import { ADMIN_TOKEN } from './api-fixture';
import { runCli } from './cli-binary';

let plane: PrivatePlane;
beforeAll(async () => {
  plane = await startPrivatePlane('cli-health', {}, ADMIN_TOKEN);
}, 60_000);
afterAll(() => plane?.stop());

const health = (...args: string[]) =>
  runCli({ TASKPLANE_URL: plane.api.graphqlUrl, TASKPLANE_TOKEN: ADMIN_TOKEN }, ['health', ...args]);

describe('taskplane health', () => {
  it('exits 0 when healthy, 1 while Redis is stopped, and 0 again once it is back', async () => {
    const ok = await health();
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^redis\s+ok\s+Redis \d/m);
    expect(ok.stdout).toMatch(/^workers\s+ok\s+1 online/m);
    expect(ok.stdout).toMatch(/^queues\s+ok/m);
    expect(ok.stdout.trimEnd().split('\n').at(-1)).toBe('healthy');

    const { port } = plane.redis;
    await plane.redis.stop();
    const down = await health('--json');
    expect(down.code).toBe(1);
    const report = JSON.parse(down.stdout) as { healthy: boolean; checks: { name: string; state: string }[] };
    expect(report.healthy).toBe(false);
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'api', state: 'ok' }));
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'redis', state: 'down' }));
    expect((await health()).stdout).toMatch(/unhealthy\n$/);

    plane.redis = await spawnRedisServer({ dir: plane.dir, port });
    await expect.poll(async () => (await health()).code, { timeout: 30_000, interval: 500 }).toBe(0);
  }, 60_000);

  it('exits 1 when the API cannot be reached', async () => {
    const unreachable = await runCli({ TASKPLANE_URL: 'http://127.0.0.1:9/graphql' }, ['health']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toMatch(/^api\s+down/m);
  });
});
