import type { DurationSketch, MetricsStore, QueueGauges, TaskEngine } from '@taskplane/queue';
import { sampleGauges } from '@taskplane/queue';

/** Upper bounds of the run and wait time histograms, in seconds. */
const BOUNDS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;

function histogram(lines: string[], name: string, at: Record<string, string>, sketch: DurationSketch): void {
  const { counts, sumMs } = sketch.cumulative(BOUNDS_S.map((s) => s * 1000));
  BOUNDS_S.forEach((bound, i) => {
    lines.push(`${name}_bucket${labels({ ...at, le: String(bound) })} ${counts[i]}`);
  });
  lines.push(`${name}_bucket${labels({ ...at, le: '+Inf' })} ${sketch.count}`);
  lines.push(`${name}_sum${labels(at)} ${sumMs / 1000}`);
  lines.push(`${name}_count${labels(at)} ${sketch.count}`);
}

const GAUGES: [string, string, (g: QueueGauges) => number | null][] = [
  [
    'taskplane_queue_oldest_waiting_seconds',
    'Age of the oldest pending task of the queue',
    (g) => (g.oldestWaitingMs === null ? null : g.oldestWaitingMs / 1000),
  ],
  ['taskplane_queue_workers', 'Worker processes alive that consume the queue', (g) => g.workers],
  [
    'taskplane_queue_slots',
    'Concurrency the queue is offered by its workers (capped by its global concurrency)',
    (g) => g.slots,
  ],
];

/**
 * The task and queue figures in Prometheus text format, read from Redis at scrape time so every
 * API process answers the same: counters and histograms are cumulative since each queue began
 * (`MetricsStore.totals`: folded totals plus the minutes not folded yet), gauges are read now.
 * Histogram sums are from the sketch (within 1 %); counts are exact.
 */
export async function taskMetricsText(store: MetricsStore, engine: TaskEngine): Promise<string> {
  const [totals, gauges] = await Promise.all([store.totals(), sampleGauges(engine)]);
  const lines: string[] = [
    '# HELP taskplane_tasks_total Task transitions by queue, task type and outcome (submitted, started, succeeded, failed, retried, cancelled, dead_lettered, stalled)',
    '# TYPE taskplane_tasks_total counter',
  ];
  for (const t of totals) {
    for (const [outcome, n] of Object.entries(t.counts)) {
      lines.push(`taskplane_tasks_total${labels({ queue: t.queue, type: t.type, outcome })} ${n}`);
    }
  }
  for (const [name, help, pick] of [
    ['taskplane_task_run_seconds', 'Run time of attempts that ended (stalled ones left out)', (t) => t.run],
    ['taskplane_task_wait_seconds', 'Wait from when a task could run to its start', (t) => t.wait],
  ] as const satisfies readonly [string, string, (t: (typeof totals)[number]) => DurationSketch][]) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const t of totals) histogram(lines, name, { queue: t.queue, type: t.type }, pick(t));
  }
  lines.push(
    '# HELP taskplane_queue_tasks Tasks in the queue by status now (running = busy slots)',
    '# TYPE taskplane_queue_tasks gauge',
  );
  for (const [queue, g] of gauges) {
    for (const status of ['pending', 'delayed', 'running', 'blocked', 'deadLettered'] as const) {
      lines.push(`taskplane_queue_tasks${labels({ queue, status })} ${g[status]}`);
    }
  }
  for (const [name, help, pick] of GAUGES) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [queue, g] of gauges) {
      const value = pick(g);
      if (value !== null) lines.push(`${name}${labels({ queue })} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
