import { DDSketch } from '@datadog/sketches-js';
import { SKETCH_RELATIVE_ACCURACY } from './metric-fields';

/** Percentiles of a set of durations, in ms. */
export interface DurationSummary {
  count: number;
  /** From the sketch: within 1 % of the true mean. */
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/**
 * Durations as DDSketch bucket counts (bucket i = values in (gamma^(i-1), gamma^i] ms), as
 * scripts/metrics.lua writes them. Sketches of minutes, queues and types merge by adding counts;
 * percentiles are read with Datadog's DDSketch over the same logarithmic mapping, so each is within
 * `SKETCH_RELATIVE_ACCURACY` of a recorded value at that rank.
 */
export class DurationSketch {
  private readonly counts = new Map<number, number>();
  private total = 0;

  add(bucket: number, count: number): void {
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
    this.total += count;
  }

  merge(other: DurationSketch): void {
    for (const [bucket, count] of other.counts) this.add(bucket, count);
  }

  get count(): number {
    return this.total;
  }

  private sketch(): DDSketch {
    const sketch = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
    // Each bucket's representative value maps back to the bucket itself.
    for (const [bucket, count] of this.counts) sketch.accept(sketch.mapping.value(bucket), count);
    return sketch;
  }

  /** Count, mean and p50/p95/p99; null when empty. */
  summary(): DurationSummary | null {
    if (this.total === 0) return null;
    const sketch = this.sketch();
    return {
      count: this.total,
      meanMs: sketch.sum / sketch.count,
      p50Ms: sketch.getValueAtQuantile(0.5),
      p95Ms: sketch.getValueAtQuantile(0.95),
      p99Ms: sketch.getValueAtQuantile(0.99),
    };
  }

  /**
   * Prometheus histogram figures: for each upper bound (ms), how many durations are at or below it
   * (a bucket counts below a bound when its representative value is), and the approximate sum.
   */
  cumulative(boundsMs: readonly number[]): { counts: number[]; sumMs: number } {
    const sketch = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
    const values = [...this.counts].map(([bucket, count]) => [sketch.mapping.value(bucket), count] as const);
    return {
      counts: boundsMs.map((bound) =>
        values.reduce((n, [value, count]) => (value <= bound ? n + count : n), 0),
      ),
      sumMs: values.reduce((sum, [value, count]) => sum + value * count, 0),
    };
  }
}
