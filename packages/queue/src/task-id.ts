import { randomBytes } from 'node:crypto';

/**
 * A new task id: time-ordered (base-36 milliseconds) plus 40 random bits. Never all digits, which
 * BullMQ reserves for its own ids.
 */
export function newTaskId(now = Date.now()): string {
  return `t${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}
