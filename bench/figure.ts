import { writeFileSync } from 'node:fs';

/**
 * What a figure's goal compares: `ratio<=`/`ratio>=` Taskplane ÷ raw, `plus<=` Taskplane − raw
 * (in the figure's unit), `max` Taskplane alone (no raw part).
 */
export type Goal =
  | { kind: 'ratio<='; value: number }
  | { kind: 'ratio>='; value: number }
  | { kind: 'plus<='; value: number }
  | { kind: 'max'; value: number };

/** A second statistic per run, shown beside the figure's own. */
export interface Aside {
  label: string;
  unit: string;
  values: number[];
}

/** One row of the results table: a sample per run on each side (median and range are taken later). */
export interface Figure {
  /** Position in the issue's table (1-12), for the order of rows. */
  order: number;
  figure: string;
  unit: string;
  ours: number[];
  /** null: the figure has no raw part. */
  raw: number[] | null;
  rawLabel: string;
  goal: Goal;
  /** A second statistic shown beside the median (e.g. p50 beside a p99), per run. */
  oursAside?: Aside;
  rawAside?: Aside;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** "median (min–max) unit", or just the value when every run agrees. */
export function cell(values: number[], unit: string): string {
  if (!values.length) return '—';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const range = lo === hi ? '' : ` (${fmtNumber(lo)}–${fmtNumber(hi)})`;
  return `${fmtNumber(median(values))}${unit ? ` ${unit}` : ''}${range}`;
}

export function goalText(goal: Goal, unit: string): string {
  switch (goal.kind) {
    case 'ratio<=':
      return `<= ${+goal.value.toFixed(2)}x`;
    case 'ratio>=':
      return `>= ${+goal.value.toFixed(2)}x`;
    case 'plus<=':
      return `<= raw + ${goal.value} ${unit}`;
    case 'max':
      return `<= ${goal.value} ${unit}`;
  }
}

/** The ratio column and whether the goal is met, from the medians. */
export function verdict(f: Figure): { ratio: string; met: boolean | null } {
  const ours = median(f.ours);
  if (f.goal.kind === 'max') return { ratio: '', met: ours <= f.goal.value };
  if (!f.raw?.length || !f.ours.length) return { ratio: '—', met: null };
  const raw = median(f.raw);
  if (f.goal.kind === 'plus<=') {
    const diff = ours - raw;
    return { ratio: `${diff >= 0 ? '+' : ''}${fmtNumber(diff)} ${f.unit}`, met: diff <= f.goal.value };
  }
  const ratio = ours / raw;
  return {
    ratio: `${ratio.toFixed(2)}x`,
    met: f.goal.kind === 'ratio<=' ? ratio <= f.goal.value : ratio >= f.goal.value,
  };
}

/**
 * Hand a bench's figures to the runner (`main.ts`): written as JSON to `BENCH_OUT` when the runner
 * set it, and printed as a small table either way.
 */
export function emit(figures: Figure[]): void {
  for (const f of figures) {
    const v = verdict(f);
    const aside = (a?: Aside) => (a ? `; ${a.label} ${cell(a.values, a.unit)}` : '');
    console.log(
      `  ${f.figure}: taskplane ${cell(f.ours, f.unit)}${aside(f.oursAside)} | ${f.rawLabel} ${
        f.raw ? cell(f.raw, f.unit) : '—'
      }${aside(f.rawAside)} | ${v.ratio} | goal ${goalText(f.goal, f.unit)} | ${
        v.met === null ? '?' : v.met ? 'met' : 'not met'
      }`,
    );
  }
  const out = process.env.BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify(figures));
}
