/**
 * Listing with a million tasks: TaskStore.list and count over records and indexes laid out as the
 * projection writes them (synthetic records inserted directly: pushing a million tasks through
 * workers would take minutes and measure the workers, not the lists), against the bare Redis read
 * of the same index page.
 *
 *   node --import tsx bench/list.ts [tasks=1000000]
 */
import { createRedis, Keys, type TaskFilter } from '@taskplane/core';
import { TaskStore } from '@taskplane/queue';
import { benchRedis, fmt, percentile, report } from './lib';

const total = Number(process.argv[2] ?? 1_000_000);
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
  // Ten pages deep, by cursor: each page costs the same.
  let after: string | null = null;
  const deep: number[] = [];
  for (let page = 0; page < 10; page++) {
    const t0 = performance.now();
    const result: Awaited<ReturnType<typeof store.list>> = await store.list(
      { status: ['success'] },
      { first: 50, after },
    );
    deep.push(performance.now() - t0);
    after = result.nextCursor;
  }
  rows.push({
    metric: 'status = success, page 10 by cursor',
    ours: deep.at(-1)!,
    raw: percentile(await time(rawPage(keys.indexStatus('success'))), 50),
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
} finally {
  redis.disconnect();
  await server.stop();
}
