/**
 * Preloaded into a process (`NODE_OPTIONS=--import=<this file>`; Node 20 refuses `--cpu-prof` in
 * NODE_OPTIONS) to write a CPU profile of it to `$BENCH_PROFILE_DIR/<pid>.cpuprofile` when it is
 * sent SIGTERM. Used by `bench/fanout.ts --profile`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.prependOnceListener('SIGTERM', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
