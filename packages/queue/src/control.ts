import type { Keys } from '@taskplane/core';
import type { Redis } from 'ioredis';

/** Messages to every worker process, over one Redis channel. Wire-level kinds. */
export const ControlKind = {
  Cancel: 'cancel',
  Settings: 'settings',
} as const;

export type ControlMessage =
  | { kind: typeof ControlKind.Cancel; taskId: string; reason: string }
  | { kind: typeof ControlKind.Settings; queue: string };

export async function publishControl(redis: Redis, keys: Keys, message: ControlMessage): Promise<number> {
  return await redis.publish(keys.controlChannel, JSON.stringify(message));
}

export function parseControl(text: string): ControlMessage | null {
  try {
    const message = JSON.parse(text) as ControlMessage;
    return Object.values(ControlKind).includes(message.kind) ? message : null;
  } catch {
    return null;
  }
}
