import { PRIORITY_MAX, type TaskOrder } from '@taskplane/core';

/**
 * BullMQ runs the lowest priority number first and keeps FIFO order within one number; it has no
 * LIFO for prioritized jobs. So each Taskplane priority gets a band of BullMQ numbers: FIFO tasks
 * share the band's middle number, LIFO tasks take ever-smaller numbers below it, so the newest LIFO
 * task runs first. A band holds 65,536 LIFO numbers before the sequence wraps (then, once, one
 * task runs out of LIFO order).
 */
const BAND = 2 ** 17;
const LIFO_SLOTS = 2 ** 16;

export function toBullPriority(priority: number, order: TaskOrder, lifoSequence = 0): number {
  const band = (PRIORITY_MAX - priority) * BAND;
  const offset = order === 'lifo' ? LIFO_SLOTS - 1 - (lifoSequence % LIFO_SLOTS) : LIFO_SLOTS;
  return band + offset + 1;
}
