/**
 * The console's Tasks page under a steady stream: Chromium (playwright-core, Debian's
 * /usr/bin/chromium, the e2e tests' launch arguments) signed in on `/tasks` of the built console (the
 * build the browser tests use), while no-op tasks are submitted open loop so the API sends about
 * `--rate` events a second (each task: submitted, started, succeeded) for `--seconds` per run.
 * Counts long tasks over 50 ms (PerformanceObserver 'longtask') per run. No raw part.
 *
 *   node --import tsx bench/console.ts [--rate 1000] [--seconds 30] [--runs 3] [--trace FILE [--trace-js]]
 *
 * `--trace FILE` records a Chromium performance trace of the measured runs (the timeline; with
 * `--trace-js` V8's CPU samples too), for DevTools' Performance panel or a script. Tracing costs
 * main-thread time (the CPU samples a lot), so the long-task counts of a traced run run high.
 */
import { freePort } from '@taskplane/core';
import { type BrowserSession, launchBrowser } from '../test/helpers/browser';
import { startConsole } from '../test/helpers/console';
import { emit } from './figure';
import { arg, BENCH_TOKEN, benchRedis, fmt, RUNS, startStack, submitNoops } from './lib';

type Page = BrowserSession['page'];

const rate = arg('rate', 1000);
const seconds = arg('seconds', 30);
const EVENTS_PER_TASK = 3;
const TICK_MS = 30;
const traceIndex = process.argv.indexOf('--trace');
const traceFile = traceIndex > 0 ? process.argv[traceIndex + 1] : undefined;
const TRACE_CATEGORIES = [
  ...(process.argv.includes('--trace-js') ? ['disabled-by-default-v8.cpu_profiler'] : []),
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'v8.execute',
  'disabled-by-default-v8.gc',
  'blink.user_timing',
];
const perTick = Math.max(1, Math.round((rate / EVENTS_PER_TASK) * (TICK_MS / 1000)));

function startLongTaskObserver(page: Page): Promise<void> {
  return page.evaluate(() => {
    const sampler = { longTasks: [] as number[] };
    (window as unknown as { benchSampler: typeof sampler }).benchSampler = sampler;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) sampler.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  });
}

/** Long-task durations since the last call (and resets the list). */
function takeLongTasks(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const sampler = (window as unknown as { benchSampler: { longTasks: number[] } }).benchSampler;
    return sampler.longTasks.splice(0);
  });
}

async function openLoop(ms: number, graphqlUrl: string): Promise<number> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  let tasks = 0;
  for (let tick = 0; performance.now() - start < ms; tick++) {
    pending.push(submitNoops(graphqlUrl, perTick));
    tasks += perTick;
    const due = start + (tick + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(pending);
  return tasks;
}

const server = await benchRedis();
const consolePort = await freePort();
const stack = await startStack(server.url, {
  env: { TASKPLANE_API__ALLOWED_ORIGINS: JSON.stringify([`http://127.0.0.1:${consolePort}`]) },
});
const consoleServer = await startConsole({ apiUrl: stack.graphqlUrl, port: consolePort });
const browser = await launchBrowser();
try {
  const { page } = browser;
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.goto(`${consoleServer.url}/tasks`);
  await page.getByLabel('API token').fill(BENCH_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.locator('[data-testid="stream-counts"][data-following="true"]').waitFor();
  await startLongTaskObserver(page);
  // Warm-up: a few seconds of the same stream, not counted.
  await openLoop(5000, stack.graphqlUrl);
  await takeLongTasks(page);
  const counts: number[] = [];
  const worst: number[] = [];
  if (traceFile) await browser.browser.startTracing(page, { path: traceFile, categories: TRACE_CATEGORIES });
  for (let run = 0; run < RUNS; run++) {
    const tasks = await openLoop(seconds * 1000, stack.graphqlUrl);
    const longTasks = (await takeLongTasks(page)).filter((d) => d > 50);
    counts.push(longTasks.length);
    worst.push(Math.max(0, ...longTasks));
    console.log(
      `  run ${run + 1}/${RUNS}: ${fmt(tasks, 0)} tasks (~${fmt((tasks * EVENTS_PER_TASK) / seconds, 0)} events/s); long tasks > 50 ms: ${longTasks.length} (${longTasks.map((d) => fmt(d, 0)).join(', ') || 'none'} ms)`,
    );
  }
  if (traceFile) {
    await browser.browser.stopTracing();
    console.log(`trace: ${traceFile}`);
  }
  if (browser.pageErrors.length)
    console.log(`page errors: ${browser.pageErrors.map((e) => e.message).join('; ')}`);
  emit([
    {
      order: 11,
      figure: `console Tasks page, ${seconds} s at ${fmt(rate, 0)} events/s in Chromium: long tasks > 50 ms`,
      unit: '',
      ours: counts,
      raw: null,
      rawLabel: '',
      goal: { kind: 'max', value: 0 },
      oursAside: { label: 'longest', unit: 'ms', values: worst },
      note: `${perTick} no-op tasks per submitTasks call every ${TICK_MS} ms (3 events each), 1366x768 headless Chromium`,
    },
  ]);
} finally {
  await browser.close();
  await consoleServer.close();
  await stack.stop();
  await server.stop();
}
