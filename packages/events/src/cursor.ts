/**
 * A cursor is the event's id in the event stream (`<ms>-<seq>`): it only grows. `0` (or `0-0`)
 * means "from the beginning of what is kept".
 */
export type Cursor = string;

const CURSOR = /^(\d+)-(\d+)$/;

export function isCursor(text: string): boolean {
  return CURSOR.test(text) || text === '0';
}

function parts(cursor: Cursor): [bigint, bigint] {
  const match = CURSOR.exec(cursor === '0' ? '0-0' : cursor);
  if (!match) throw new TypeError(`not a cursor: ${cursor}`);
  return [BigInt(match[1]!), BigInt(match[2]!)];
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const [a1, a2] = parts(a);
  const [b1, b2] = parts(b);
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  if (a2 !== b2) return a2 < b2 ? -1 : 1;
  return 0;
}
