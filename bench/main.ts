/**
 * `pnpm bench`: every figure of issue 10's table, each bench in a process of its own (so one's heap,
 * timers or leftovers cannot colour the next one's numbers), Taskplane and its raw part side by side
 * in the same run; then the table, printed and written to bench/results/latest.md.
 *
 *   pnpm bench                       # everything at default sizes (about 10-15 minutes)
 *   pnpm bench --quick               # small sizes, one run: checks the suite works, numbers are rough
 *   pnpm bench --only events,fanout  # some benches
 *   pnpm bench soak --minutes 10     # the soak (bench/soak.ts), instead of the table
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cell, type Figure, goalText, verdict } from './figure';

interface Bench {
  name: string;
  args: string[];
  quick: string[];
}

const BENCHES: Bench[] = [
  { name: 'redis-cost', args: [], quick: ['--tasks', '500'] },
  // Skipped (with a line saying so) where valgrind is not installed.
  { name: 'redis-instructions', args: [], quick: ['--tasks', '200', '--single', '100'] },
  { name: 'redis-e2e', args: [], quick: ['--tasks', '500'] },
  { name: 'submit', args: [], quick: ['--requests', '300'] },
  { name: 'worker', args: [], quick: ['--jobs', '1000'] },
  { name: 'events', args: [], quick: ['--seconds', '3'] },
  { name: 'fanout', args: [], quick: ['--sockets', '1000', '--events', '3'] },
  { name: 'console', args: [], quick: ['--seconds', '5'] },
  { name: 'list', args: [], quick: ['--tasks', '50000'] },
];
/** Far above any bench's run time at default sizes; a bench that hangs is killed, not waited on. */
const TIMEOUT_MS = 10 * 60_000;
const argv = process.argv.slice(2);

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = TIMEOUT_MS,
): Promise<number | string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args],
    {
      stdio: 'inherit',
      env: { ...process.env, ...env },
    },
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
}

function machine(): string {
  let redis = 'redis-server (version unknown)';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
      .split(' ')
      .slice(0, 3)
      .join(' ');
  } catch {}
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}, ${redis}`;
}

function table(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const v = verdict(f);
    const aside = (a?: Figure['oursAside']) => (a ? `; ${a.label} ${cell(a.values, a.unit)}` : '');
    return `| ${f.figure} | ${cell(f.ours, f.unit)}${aside(f.oursAside)} | ${
      f.raw ? `${cell(f.raw, f.unit)} (${f.rawLabel})${aside(f.rawAside)}` : '—'
    } | ${v.ratio || '—'} | ${goalText(f.goal, f.unit)} | ${v.met === null ? '?' : v.met ? 'yes' : 'no'} |`;
  });
  return ['| figure | Taskplane | raw | ratio | goal | met? |', '|---|---|---|---|---|---|', ...rows].join(
    '\n',
  );
}

if (argv[0] === 'soak') {
  // The soak runs as long as it is asked to (soak.ts defaults to 5 minutes), then reports.
  const minutesAt = argv.indexOf('--minutes');
  const minutes = minutesAt >= 0 ? Number(argv[minutesAt + 1]) : 5;
  const outcome = await run('./soak.ts', argv.slice(1), {}, (minutes + 5) * 60_000);
  if (outcome !== 0) console.error(`soak ended with ${outcome}`);
  process.exitCode = outcome === 0 ? 0 : 1;
} else {
  const quick = argv.includes('--quick');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]!.split(',') : null;
  const runsAt = argv.indexOf('--runs');
  const extra = runsAt >= 0 ? ['--runs', argv[runsAt + 1]!] : quick ? ['--runs', '1'] : [];
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-out-'));
  const figures: Figure[] = [];
  const failed: string[] = [];
  const started = new Date();
  const t0 = performance.now();
  for (const bench of BENCHES) {
    if (only && !only.includes(bench.name)) continue;
    console.log(`\n=== ${bench.name} ===`);
    const out = join(dir, `${bench.name}.json`);
    const start = performance.now();
    const outcome = await run(`./${bench.name}.ts`, [...(quick ? bench.quick : bench.args), ...extra], {
      BENCH_OUT: out,
    });
    console.log(`(${bench.name}: ${((performance.now() - start) / 1000).toFixed(1)} s)`);
    try {
      figures.push(...(JSON.parse(readFileSync(out, 'utf8')) as Figure[]));
    } catch {
      failed.push(`${bench.name} (${outcome})`);
    }
    if (outcome !== 0 && !failed.some((f) => f.startsWith(bench.name)))
      failed.push(`${bench.name} (${outcome})`);
  }
  figures.sort((a, b) => a.order - b.order);
  const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
  const markdown = [
    '# Benchmark results',
    '',
    `Taken ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`pnpm bench${argv.length ? ` ${argv.join(' ')}` : ''}\` in ${minutes} min on a **shared 2-core machine** (${machine()}); other work was running beside it, so expect ±30 % between runs. Each cell is the median of the runs with the range in brackets, after one warm-up run; ratio = Taskplane ÷ raw from the medians. Benchmarks never fail on timing.`,
    '',
    table(figures),
    '',
    '## How each figure was taken',
    '',
    ...figures.map((f) => `- **${f.figure}**: ${f.note ?? ''}`),
    ...(failed.length ? ['', `Benchmarks that did not finish cleanly: ${failed.join(', ')}.`] : []),
    '',
  ].join('\n');
  const results = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, quick || only ? 'partial.md' : 'latest.md'), markdown);
  console.log(`\n${markdown}`);
  if (failed.length) process.exitCode = 1;
}
