import { compareStreamIds, ValidationError } from '@taskplane/core';

/**
 * A cursor is the event's id in the event stream (`<ms>-<seq>`): it only grows. `0` (or `0-0`)
 * means "from the beginning of what is kept".
 */
export type Cursor = string;

/** Both parts of a stream id are unsigned 64-bit integers in Redis. */
const MAX_PART = 2n ** 64n - 1n;
const CURSOR = /^(\d{1,20})-(\d{1,20})$/;

/** What a cursor looks like, for error messages. */
export const CURSOR_HINT =
  'a cursor is "<ms>-<seq>" as found in an event\'s `cursor` field, or "0" for everything kept';

/** Is `text` a cursor Redis can read after: `0`, or `<ms>-<seq>` with both parts below 2^64? */
export function isCursor(text: string): boolean {
  if (text === '0') return true;
  const match = CURSOR.exec(text);
  return match !== null && BigInt(match[1]!) <= MAX_PART && BigInt(match[2]!) <= MAX_PART;
}

/**
 * `text` as a cursor, or a `ValidationError` (path `after`) saying what a cursor looks like. Only
 * the form is checked here; whether the log still keeps it or has reached it yet is the hub's.
 */
export function parseCursor(text: string, path = 'after'): Cursor {
  if (isCursor(text)) return text;
  throw new ValidationError(`"${text.slice(0, 64)}" is not an event cursor: ${CURSOR_HINT}`, [
    { path, message: 'expected <ms>-<seq> or 0' },
  ]);
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export const compareCursors: (a: Cursor, b: Cursor) => number = compareStreamIds;
