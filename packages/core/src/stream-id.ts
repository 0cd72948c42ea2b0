/**
 * Redis stream entry ids (`<ms>-<seq>`) in order: negative when a is older than b, 0 when equal,
 * positive when newer. `0` stands for `0-0`. Event cursors and projector checkpoints are such ids.
 */
export function compareStreamIds(a: string, b: string): number {
  const [a1, a2] = parts(a);
  const [b1, b2] = parts(b);
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  if (a2 !== b2) return a2 < b2 ? -1 : 1;
  return 0;
}

const STREAM_ID = /^(\d+)-(\d+)$/;

export function isStreamId(text: string): boolean {
  return STREAM_ID.test(text);
}

function parts(id: string): [bigint, bigint] {
  const match = STREAM_ID.exec(id === '0' ? '0-0' : id);
  if (!match) throw new TypeError(`not a stream id: ${id}`);
  return [BigInt(match[1]!), BigInt(match[2]!)];
}
