/** Where a command writes; tests and the worker command pass their own. */
export interface Output {
  json: boolean;
  out(line: string): void;
}

/** A cell as a person reads it: dates shortened, nothing shown for null. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value))
    return value.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows as an aligned table with a header; "(none)" when empty. */
export function table(output: Output, columns: string[], rows: unknown[][]): void {
  if (!rows.length) {
    output.out('(none)');
    return;
  }
  const text = rows.map((row) => row.map(cell));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  output.out(line(columns));
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
