/**
 * The ranges the metrics charts offer, each with a step that keeps a chart to a few hundred points
 * (the API allows 2,000): 60 of a minute, 144 of ten minutes, 168 of an hour. Seven days need whole
 * hours anyway: minutes are kept for 48 h (`metrics.minute_retention`).
 */
export const METRICS_RANGES = {
  '1h': { label: '1 h', rangeMs: 3_600_000, stepSeconds: 60 },
  '24h': { label: '24 h', rangeMs: 86_400_000, stepSeconds: 600 },
  '7d': { label: '7 d', rangeMs: 604_800_000, stepSeconds: 3_600 },
} as const;
export type MetricsRange = keyof typeof METRICS_RANGES;

export const DEFAULT_METRICS_RANGE: MetricsRange = '24h';
/** The URL search parameter that holds the range, so a link keeps it. */
export const RANGE_PARAM = 'range';

/** The range a URL names, or the default for a missing or unknown one. */
export function metricsRangeOf(url: URL): MetricsRange {
  const named = url.searchParams.get(RANGE_PARAM);
  return named !== null && Object.hasOwn(METRICS_RANGES, named)
    ? (named as MetricsRange)
    : DEFAULT_METRICS_RANGE;
}

/** `url` with `range` in its search parameters (the other parameters kept), as a path for a link. */
export function withMetricsRange(url: URL, range: MetricsRange): string {
  const params = new URLSearchParams(url.searchParams);
  params.set(RANGE_PARAM, range);
  return `${url.pathname}?${params}`;
}
