import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config-loader';
import { ConfigError } from './errors';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-config-'));
  const path = join(dir, 'taskplane.yaml');
  writeFileSync(path, text);
  return path;
}

function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('reads the defaults with durations in milliseconds', () => {
    const config = loadConfig();
    expect(config.api.port).toBe(4000);
    expect(config.console.port).toBe(3000);
    expect(config.retry).toMatchObject({ max_retries: 3, base_delay: 1000, max_delay: 60_000 });
    expect(config.workers).toMatchObject({ default_count: 5, max_count: 20, task_timeout: 300_000 });
    expect(config.monitoring.alerts).toMatchObject({
      failure_rate: 0.1,
      queue_size: 1000,
      avg_duration: 300_000,
    });
  });

  it('ignores the client settings TASKPLANE_URL and TASKPLANE_TOKEN exported for the CLI', () => {
    const config = loadConfig({
      env: {
        TASKPLANE_URL: 'http://127.0.0.1:4000/graphql',
        TASKPLANE_TOKEN: 'tp_abc',
        TASKPLANE_API__PORT: '4100',
      },
    });
    expect(config.api.port).toBe(4100);
  });

  it('merges an operator file over the defaults', () => {
    const config = loadConfig({ file: file('api:\n  port: 4100\nretry:\n  base_delay: 250ms\n') });
    expect(config.api.port).toBe(4100);
    expect(config.api.host).toBe('127.0.0.1');
    expect(config.retry.base_delay).toBe(250);
  });

  it('applies environment overrides, typed', () => {
    const config = loadConfig({
      env: {
        REDIS_URL: 'redis://10.0.0.5:6380',
        TASKPLANE_API__PORT: '4200',
        TASKPLANE_WORKERS__QUEUES: '[a, b]',
      },
    });
    expect(config.redis.url).toBe('redis://10.0.0.5:6380');
    expect(config.api.port).toBe(4200);
    expect(config.workers.queues).toEqual(['a', 'b']);
  });

  it('refuses bad YAML and says where', () => {
    const error = failure(() => loadConfig({ file: file('api:\n  port: [4000\n') }));
    expect(error.message).toMatch(/not valid YAML/);
    expect(error.message).toMatch(/line \d+/);
  });

  it('refuses an unknown key and names it', () => {
    const error = failure(() => loadConfig({ file: file('workers:\n  defualt_count: 5\n') }));
    expect(error.message).toContain('workers.defualt_count: unknown key');
  });

  it('refuses a wrong type, naming key, value and expectation', () => {
    const error = failure(() => loadConfig({ file: file('api:\n  port: "four thousand"\n') }));
    expect(error.message).toContain('api.port');
    expect(error.message).toContain('"four thousand"');
    expect(error.message).toMatch(/expected number/);
  });

  it('names the environment variable an invalid value came from', () => {
    const error = failure(() => loadConfig({ env: { TASKPLANE_RETRY__BASE_DELAY: 'soon' } }));
    expect(error.message).toContain('retry.base_delay (from TASKPLANE_RETRY__BASE_DELAY)');
    expect(error.message).toContain('expected a duration');
  });

  it('refuses an unknown TASKPLANE_ variable', () => {
    const error = failure(() => loadConfig({ env: { TASKPLANE_APII__PORT: '1' } }));
    expect(error.message).toContain('apii: unknown key');
  });

  it('refuses a queue concurrency above the worker maximum', () => {
    const error = failure(() => loadConfig({ overrides: { queues: { products: { concurrency: 50 } } } }));
    expect(error.message).toContain('queues.products.concurrency');
  });

  it('turns the monitoring.alerts thresholds and the built-ins into default alert rules', () => {
    const { alerts, monitoring } = loadConfig();
    expect(Object.keys(alerts.rules).sort()).toEqual([
      'avg_duration',
      'dead_letters',
      'failure_rate',
      'no_consumer',
      'queue_size',
      'redis_memory',
      'stalled',
      'worker_gone',
    ]);
    expect(monitoring.alerts).toMatchObject({ failure_rate: 0.1, queue_size: 1000, avg_duration: 300_000 });
    expect(alerts.defaults).toEqual({ window: 300_000, for: 60_000, cooldown: 300_000 });
  });

  it('refuses alert rules without a threshold, on an unknown queue, or with too long a window', () => {
    const error = failure(() =>
      loadConfig({
        overrides: {
          alerts: {
            rules: {
              mine: { metric: 'stalled' },
              elsewhere: { metric: 'queue_size', queue: 'nope' },
              long: { metric: 'dead_letters', threshold: 1, window: '7h' },
            },
          },
        },
      }),
    );
    expect(error.message).toContain('alerts.rules.mine.threshold: required for metric stalled');
    expect(error.message).toContain('alerts.rules.elsewhere.queue: no queue named nope');
    expect(error.message).toContain('alerts.rules.long.window: at most 6h');
  });

  it('refuses a webhook with a short secret, naming it', () => {
    const error = failure(() =>
      loadConfig({ overrides: { alerts: { webhooks: [{ url: 'http://x.test', secret: 'short' }] } } }),
    );
    expect(error.message).toContain('alerts.webhooks.0.secret');
  });
});
