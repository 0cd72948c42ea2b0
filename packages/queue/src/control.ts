import type { Keys } from '@taskplane/core';
import type { Redis } from 'ioredis';

/** Messages to every worker process, over one capped Redis stream. Wire-level kinds. */
export const ControlKind = {
  Cancel: 'cancel',
  Settings: 'settings',
  /** Hand a running task back to its queue: a more urgent one takes its slot (preempt.lua). */
  Preempt: 'preempt',
} as const;

export type ControlMessage =
  | { kind: typeof ControlKind.Cancel; taskId: string; reason: string }
  | { kind: typeof ControlKind.Settings; queue: string }
  | { kind: typeof ControlKind.Preempt; taskId: string; by: string };

/**
 * Control messages kept in the stream (approximately). Workers read it as it is written and only
 * go back as far as a reconnect took, so this only needs to cover the longest outage's traffic.
 */
export const CONTROL_LOG_MAX_LEN = 10_000;

/** The stream field holding a message's JSON. */
const FIELD = 'm';

/**
 * Append a message for every worker process to the control stream; returns its id. Workers follow
 * the stream from where they are (see `WorkerHost`), so one that is reconnecting gets it late,
 * not never.
 */
export async function publishControl(redis: Redis, keys: Keys, message: ControlMessage): Promise<string> {
  return (await redis.xadd(
    keys.controlLog,
    'MAXLEN',
    '~',
    CONTROL_LOG_MAX_LEN,
    '*',
    FIELD,
    JSON.stringify(message),
  )) as string;
}

/** A control stream entry's fields (as Redis returns them) as a message; null when unreadable. */
export function decodeControl(fields: string[]): ControlMessage | null {
  for (let i = 0; i < fields.length; i += 2)
    if (fields[i] === FIELD) return parseControl(fields[i + 1] ?? '');
  return null;
}

export function parseControl(text: string): ControlMessage | null {
  try {
    const message = JSON.parse(text) as ControlMessage;
    return Object.values(ControlKind).includes(message.kind) ? message : null;
  } catch {
    return null;
  }
}
