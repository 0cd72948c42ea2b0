/**
 * A `redis-server` run under valgrind's callgrind, for counting the instructions Redis executes
 * while a workload runs: the count is the same for the same code and workload whatever else the
 * machine is doing (`INFO cpu` moved by 30-40 % between runs here). Used by `redis-instructions.ts`
 * and `profile-projection.ts --callgrind`.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisAnswers } from '@taskplane/core';

/** Whether valgrind is installed (Debian: apt-get install valgrind). */
export function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version']).status === 0;
}

/** A redis-server under callgrind, counting nothing until `measure` switches counting on. */
export async function callgrindRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'tp-callgrind-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await redisAnswers(url, 1000))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('redis-server under valgrind did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  let dumps = 0;
  const control = (...args: string[]) =>
    // Its "sending command ..." lines on stderr are not the bench's output.
    execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'pipe' });
  return {
    url,
    /** Instructions Redis executed while `run` ran, in total and under each command's function. */
    async measure(run: () => Promise<void>): Promise<Map<string, number>> {
      control('--zero');
      control('--instr=on');
      await run();
      control(`--dump=m${++dumps}`);
      control('--instr=off');
      const file = readdirSync(dir)
        .filter((f) => f.startsWith('callgrind.out'))
        .map((f) => join(dir, f))
        .find((f) => readFileSync(f, 'utf8').includes(`Trigger: dump m${dumps}\n`));
      if (!file) throw new Error(`no callgrind dump m${dumps} in ${dir}`);
      const inclusive = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      const costs = new Map<string, number>();
      for (const line of inclusive.split('\n')) {
        const match = /^\s*([\d,]+) .*?(?:\?\?\?|\S+):(\w+)(?:'\d+)? \[/.exec(line);
        if (match && !costs.has(match[2]!)) costs.set(match[2]!, Number(match[1]!.replaceAll(',', '')));
        const total = /^\s*([\d,]+) .*PROGRAM TOTALS/.exec(line);
        if (total) costs.set('total', Number(total[1]!.replaceAll(',', '')));
      }
      return costs;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
