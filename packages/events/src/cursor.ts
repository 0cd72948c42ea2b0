import { compareStreamIds, isStreamId } from '@taskplane/core';

/**
 * A cursor is the event's id in the event stream (`<ms>-<seq>`): it only grows. `0` (or `0-0`)
 * means "from the beginning of what is kept".
 */
export type Cursor = string;

export function isCursor(text: string): boolean {
  return isStreamId(text) || text === '0';
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export const compareCursors: (a: Cursor, b: Cursor) => number = compareStreamIds;
