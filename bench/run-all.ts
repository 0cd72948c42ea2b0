/**
 * Every benchmark in sequence, each in a process of its own (so one's heap, timers or leftovers
 * cannot colour the next one's numbers), at its default sizes.
 *
 *   pnpm --filter @taskplane/bench all
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = ['submit', 'worker', 'events', 'fanout', 'redis-cost', 'list'];
/** Far above any bench's run time here; a bench that hangs is killed, not waited on forever. */
const TIMEOUT_MS = 180_000;

function run(name: string): Promise<number | string> {
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
}

const failed: string[] = [];
for (const name of BENCHES) {
  console.log(`\n=== ${name} ===`);
  const start = performance.now();
  const outcome = await run(name);
  console.log(`(${name}: ${((performance.now() - start) / 1000).toFixed(1)} s)`);
  if (outcome !== 0) failed.push(`${name} (${outcome})`);
}
if (failed.length) {
  console.error(`\nbenchmarks that did not finish cleanly: ${failed.join(', ')}`);
  process.exitCode = 1;
}
