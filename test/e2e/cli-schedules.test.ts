// `taskplane schedules ...` as an operator runs it: a real process against a real API.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Stack, startStack } from './api-fixture';

const BIN = fileURLToPath(new URL('../../apps/cli/bin/taskplane.js', import.meta.url));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('cli-schedules', { workers: 0 });
});
afterAll(() => stack?.stop());

function taskplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, TASKPLANE_URL: stack.apis[0]!.graphqlUrl, TASKPLANE_TOKEN: ADMIN_TOKEN } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('taskplane schedules', () => {
  it('adds, lists, shows next runs, pauses, resumes, triggers and removes', async () => {
    const bad = await taskplane('schedules', 'add', 'bad', 'full_sync', '--cron', '61 * * * *');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cron:/);

    const added = await taskplane(
      'schedules',
      'add',
      'nightly',
      'full_sync',
      '--cron',
      '0 9 * * *',
      '--tz',
      'Asia/Shanghai',
      '--json',
    );
    expect(added.code).toBe(0);
    const { id } = JSON.parse(added.stdout) as { id: string };

    expect((await taskplane('schedules', 'ls')).stdout).toMatch(/nightly/);
    const next = await taskplane('schedules', 'next', id, '--count', '2');
    // 09:00 in Shanghai is 01:00 UTC.
    expect(next.stdout.trim().split('\n')).toHaveLength(2);
    expect(next.stdout).toMatch(/T01:00:00\.000Z/);
    expect((await taskplane('schedules', 'pause', id)).stdout).toMatch(/paused:\s+true/);
    expect((await taskplane('schedules', 'resume', id)).stdout).toMatch(/paused:\s+false/);
    expect((await taskplane('schedules', 'trigger', id)).stdout).toMatch(/^submitted /);
    expect((await taskplane('schedules', 'rm', id)).stdout).toMatch(/deleted schedule/);
    expect((await taskplane('schedules', 'nope')).code).toBe(2);
  });
});
