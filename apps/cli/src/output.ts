import { stripVTControlCharacters, styleText } from 'node:util';

/** Where a command writes; tests and the worker command pass their own. */
export interface Output {
  json: boolean;
  /** stdout is a terminal: tables may be coloured and progress drawn as bars. */
  tty: boolean;
  /** Colour allowed: a terminal, and no NO_COLOR. */
  color: boolean;
  out(line: string): void;
  /** Diagnostics and progress: stderr, so piped stdout stays data. */
  err(line: string): void;
}

type Style = Parameters<typeof styleText>[0];

/** `text` in `style` when colour is on, else as is. */
export function paint(output: Output, style: Style, text: string): string {
  return output.color ? styleText(style, text) : text;
}

/** A status word coloured by what it means (green done, red failed, yellow waiting). */
export function status(output: Output, text: string): string {
  if (/^(SUCCESS|SUCCEEDED|ok|healthy)$/i.test(text)) return paint(output, 'green', text);
  if (/^(FAILED|DEAD_LETTERED|CANCELLED|unhealthy|down)$/i.test(text)) return paint(output, 'red', text);
  if (/^(RETRYING|STALLED|BLOCKED|DELAYED|degraded|warning)$/i.test(text))
    return paint(output, 'yellow', text);
  return text;
}

/** A cell as a person reads it: dates shortened, nothing shown for null. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value))
    return value.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows as an aligned table with a header (bold on a terminal); "(none)" when empty. */
export function table(output: Output, columns: string[], rows: unknown[][]): void {
  if (!rows.length) {
    output.out('(none)');
    return;
  }
  const text = rows.map((row) => row.map(cell));
  // Widths as seen: colour codes take no columns.
  const width = (c: string) => stripVTControlCharacters(c).length;
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => width(r[i]!))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(widths[i]! - width(c)))
      .join('  ')
      .trimEnd();
  output.out(paint(output, 'bold', line(columns)));
  for (const row of text) output.out(line(row));
}

/** `key: value` lines for one record. */
export function record(output: Output, entries: [string, unknown][]): void {
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [key, value] of entries) output.out(`${`${key}:`.padEnd(width + 1)} ${cell(value)}`);
}

/** `--json` prints the value; otherwise `human` does. */
export function show<T>(output: Output, value: T, human: (value: T) => void): void {
  if (output.json) output.out(JSON.stringify(value, null, 2));
  else human(value);
}
