import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedRedis, spawnRedisServer } from '@taskplane/core';

/** Each benchmark gets its own redis-server, so its numbers and command counts are its own. */
export async function benchRedis(): Promise<SpawnedRedis> {
  return await spawnRedisServer({
    dir: mkdtempSync(join(tmpdir(), 'tp-bench-')),
    settings: { appendonly: 'no' },
  });
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Print a side-by-side row: ours, the raw part, and ours relative to it. */
export function report(
  title: string,
  rows: { metric: string; ours: number; raw: number; unit: string; lowerIsBetter: boolean }[],
): void {
  console.log(`\n${title}`);
  console.log(
    `${'metric'.padEnd(34)}${'taskplane'.padStart(14)}${'raw'.padStart(14)}${'ratio'.padStart(10)}`,
  );
  for (const row of rows) {
    const ratio = row.ours / row.raw;
    console.log(
      `${row.metric.padEnd(34)}${`${fmt(row.ours)} ${row.unit}`.padStart(14)}${`${fmt(row.raw)} ${row.unit}`.padStart(14)}${`${fmt(ratio)}x`.padStart(10)}`,
    );
  }
}
