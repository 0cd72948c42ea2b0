import { Presets, SingleBar } from 'cli-progress';
import type { Output } from './output';

/** A count towards a total, as the user sees it. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/**
 * A progress bar (cli-progress) on a terminal's stderr; piped, a plain `label: done/total` line on
 * stderr at each tenth, so logs and tests see progress without escape codes. `--json` keeps stdout
 * clean either way.
 */
export function progress(output: Output, label: string, total: number): Progress {
  if (output.tty) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total}`, stream: process.stderr, hideCursor: true },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      update: (done, newTotal) => {
        if (newTotal !== undefined && newTotal !== total) {
          total = newTotal;
          bar.setTotal(newTotal);
        }
        bar.update(done);
      },
      stop: () => bar.stop(),
    };
  }
  let shown = -1;
  const piped: Progress = {
    update: (done, newTotal) => {
      if (newTotal !== undefined) total = newTotal;
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth === shown) return;
      shown = tenth;
      output.err(`${label}: ${done}/${total}`);
    },
    stop: () => {},
  };
  piped.update(0);
  return piped;
}
