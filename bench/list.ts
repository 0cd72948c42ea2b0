/**
 * Listing with a million tasks: TaskStore.list and count over records and indexes laid out as the
 * projection writes them (synthetic records inserted directly: pushing a million tasks through
 * workers would take minutes and measure the workers, not the lists), against the bare Redis read
 * of the same index page.
 *
 * The table's figure is page 10 by cursor (status = success, pages of 50): `TaskStore.list` after
 * page 9's cursor against a bare index page after the same position (ZRANGE BYSCORE REV from just
 * below page 9's last score, LIMIT 50, then the 50 hashes in one pipeline), 100 samples per run,
 * the two interleaved; p50 and p99 per run. The other lists are printed for the record.
 *
 *   node --import tsx bench/list.ts [--tasks 1000000] [--runs 3]
 */
import { createRedis, Keys, type TaskFilter } from '@taskplane/core';
import { TaskStore } from '@taskplane/queue';
import { emit } from './figure';
import { arg, benchRedis, fmt, percentile, RUNS, report } from './lib';

const total = arg('tasks', 1_000_000);
const SAMPLES = 100;
const server = await benchRedis();
const redis = createRedis({ url: server.url, role: 'worker' });
const keys = new Keys('tp');
const store = new TaskStore(redis, keys);

const TYPES = ['single_product', 'batch_products', 'search_keywords', 'shop_crawl', 'full_sync'];
const QUEUES = ['products', 'products', 'search', 'shops', 'sync'];
const SHOPS = 1000;
const now = Date.now();
const week = 7 * 86_400_000;

function statusOf(i: number): string {
  const r = i % 100;
  if (r < 90) return 'success';
  if (r < 95) return 'dead_lettered';
  if (r < 99) return 'pending';
  return 'running';
}

async function insert(): Promise<number> {
  const started = performance.now();
  const batch = 5000;
  for (let from = 0; from < total; from += batch) {
    const pipeline = redis.pipeline();
    for (let i = from; i < Math.min(total, from + batch); i++) {
      const id = `t${i.toString(36).padStart(9, '0')}`;
      const t = i % TYPES.length;
      const status = statusOf(i);
      const createdAt = now - week + Math.floor((i / total) * week);
      const labels = JSON.stringify({ shop: `s${i % SHOPS}` });
      const error =
        status === 'dead_lettered'
          ? {
              code: i % 2 ? 'NOT_FOUND' : 'TRANSIENT',
              message: i % 2 ? 'GET /products/x answered 404' : 'GET /products/x answered 503',
              retryable: i % 2 === 0,
            }
          : null;
      const attempts = JSON.stringify([
        {
          attempt: 1,
          startedAt: createdAt + 5,
          finishedAt: createdAt + 50,
          workerId: 'w-bench',
          error,
          stalled: false,
        },
      ]);
      pipeline.hset(keys.task(id), {
        id,
        type: TYPES[t]!,
        queue: QUEUES[t]!,
        status,
        priority: 5,
        order: 'fifo',
        params: '{"url":"http://x"}',
        labels,
        idempotencyKey: '',
        createdAt,
        updatedAt: createdAt + 50,
        runAt: '',
        attemptsMade: 1,
        maxAttempts: 4,
        timeoutMs: 300000,
        backoff: '{}',
        attempts,
        progress: 100,
        parentId: '',
        dependsOn: '[]',
        scheduleId: '',
        result: '{"ok":true}',
        startedAt: createdAt + 5,
        finishedAt: createdAt + 50,
      });
      pipeline.zadd(keys.indexAll, createdAt, id);
      pipeline.zadd(keys.indexStatus(status), createdAt, id);
      pipeline.zadd(keys.indexType(TYPES[t]!), createdAt, id);
      pipeline.zadd(keys.indexQueue(QUEUES[t]!), createdAt, id);
      pipeline.zadd(keys.indexLabel('shop', `s${i % SHOPS}`), createdAt, id);
    }
    await pipeline.exec();
  }
  return performance.now() - started;
}

async function time(fn: () => Promise<unknown>, runs = 30): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/**
 * The raw part: what a hand-written reader does for one page: the index page, then the 50 hashes
 * in one pipeline (no parsing, no filtering).
 */
const rawPage = (index: string) => async () => {
  const ids = await redis.zrange(index, '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 50);
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(keys.task(id));
  return await pipeline.exec();
};

try {
  const insertMs = await insert();
  const memory = /used_memory_human:(\S+)/.exec(await redis.info('memory'))?.[1];
  console.log(`inserted ${fmt(total, 0)} tasks in ${fmt(insertMs / 1000, 1)} s; Redis holds ${memory}`);

  const cases: { name: string; filter: TaskFilter; index: string }[] = [
    { name: 'newest 50, no filter', filter: {}, index: keys.indexAll },
    {
      name: 'status = dead_lettered',
      filter: { status: ['dead_lettered'] },
      index: keys.indexStatus('dead_lettered'),
    },
    {
      name: 'shop label (1 in 1,000)',
      filter: { labels: { shop: 's42' } },
      index: keys.indexLabel('shop', 's42'),
    },
    {
      name: 'dead_lettered + type + shop',
      filter: { status: ['dead_lettered'], type: ['batch_products'], labels: { shop: 's41' } },
      index: keys.indexLabel('shop', 's41'),
    },
  ];
  const rows = [];
  for (const c of cases) {
    const ours = await time(() => store.list(c.filter, { first: 50 }));
    const raw = await time(rawPage(c.index));
    rows.push({ metric: `${c.name}: p50`, ours: percentile(ours, 50), raw: percentile(raw, 50), unit: 'ms' });
  }
  // Page 10 by cursor: page 9's cursor once, then page 10 timed against the bare read of it.
  const success = keys.indexStatus('success');
  let after: string | null = null;
  let lastId = '';
  for (let page = 0; page < 9; page++) {
    const result: Awaited<ReturnType<typeof store.list>> = await store.list(
      { status: ['success'] },
      { first: 50, after },
    );
    after = result.nextCursor;
    lastId = result.tasks.at(-1)!.id;
  }
  const lastScore = Number(await redis.zscore(success, lastId));
  const ourPage = () => store.list({ status: ['success'] }, { first: 50, after });
  const rawPage10 = async () => {
    const ids = await redis.zrange(success, `(${lastScore}`, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 50);
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hgetall(keys.task(id));
    return await pipeline.exec();
  };
  const page10 = { ours: [] as number[][], raw: [] as number[][] };
  for (let run = -1; run < RUNS; run++) {
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      ours.push(...(await time(ourPage, 1)));
      raw.push(...(await time(rawPage10, 1)));
    }
    if (run >= 0) {
      page10.ours.push(ours);
      page10.raw.push(raw);
    }
  }
  const p = (side: number[][], q: number) => side.map((samples) => percentile(samples, q));
  rows.push({
    metric: 'status = success, page 10 by cursor p50',
    ours: percentile(page10.ours.flat(), 50),
    raw: percentile(page10.raw.flat(), 50),
    unit: 'ms',
  });
  const counted = await time(() => store.count({ status: ['dead_lettered'] }));
  rows.push({
    metric: 'count(status = dead_lettered)',
    ours: percentile(counted, 50),
    raw: percentile(await time(() => redis.zcard(keys.indexStatus('dead_lettered'))), 50),
    unit: 'ms',
  });
  // A filter no index answers is a bounded walk: errorText over the dead letters.
  const textSearch = await time(
    () => store.list({ status: ['dead_lettered'], errorText: '404' }, { first: 50 }),
    10,
  );
  rows.push({
    metric: 'dead letters with "404" in error',
    ours: percentile(textSearch, 50),
    raw: percentile(await time(rawPage(keys.indexStatus('dead_lettered'))), 50),
    unit: 'ms',
  });
  report(
    `listing ${fmt(total, 0)} tasks: TaskStore.list vs a bare index page + HGETALL pipeline`,
    rows,
    'bare Redis',
  );
  emit([
    {
      order: 12,
      figure: `list page 10 by cursor, ${fmt(total, 0)} tasks, p99`,
      unit: 'ms',
      ours: p(page10.ours, 99),
      raw: p(page10.raw, 99),
      rawLabel: 'bare index page after the same position',
      goal: { kind: 'ratio<=', value: 1.5 },
      oursAside: { label: 'p50', unit: 'ms', values: p(page10.ours, 50) },
      rawAside: { label: 'p50', unit: 'ms', values: p(page10.raw, 50) },
      note: `${SAMPLES} samples per run, interleaved; records inserted directly in ${fmt(insertMs / 1000, 0)} s (Redis ${memory})`,
    },
  ]);
} finally {
  redis.disconnect();
  await server.stop();
}
