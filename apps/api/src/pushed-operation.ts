import type { ExecutionResult } from 'graphql';
import { MessageType } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { ResultSink, SharedResults } from './shared-subscriptions';

/**
 * Bytes a socket may have waiting to be written before its subscriptions stop being pushed to:
 * past it, a subscription's events wait in its feed (bounded there, `SubscriberTooSlowError`
 * past `MAX_BUFFERED`) and go out one at a time as the socket drains, as graphql-ws sends them.
 */
export const SOCKET_HIGH_WATER = 256 * 1024;

const CLOSE = Buffer.from('}');
/** A Buffer goes out as a binary frame unless told otherwise; graphql-ws messages are text. */
const TEXT = { binary: false } as const;

/**
 * A subscription over graphql-ws whose results are written to the socket as the fan-out computes
 * them, not pulled one at a time through graphql-ws's loop: for one event to thousands of sockets,
 * one loop of writes of the same payload bytes (behind each subscription's own id), instead of a
 * chain of promises, a `JSON.stringify` and a wait for the write per socket.
 *
 * graphql-ws still runs the subscription (ids, `complete`, errors, the end): it iterates this,
 * and gets nothing while results are pushed. When the socket is full (`SOCKET_HIGH_WATER`), or the
 * feed has events waiting or is replaying, `next()` returns results pulled one at a time (masked
 * as Yoga's envelope masks them) and graphql-ws sends them, waiting for each write; pushing starts
 * again once caught up. Either way every result goes out once, in order.
 */
export class PushedOperation implements AsyncIterableIterator<ExecutionResult>, ResultSink {
  private readonly prefix: Buffer;
  private wake: ((next: Promise<IteratorResult<ExecutionResult>>) => void) | null = null;
  /** Resolves when the write that crossed the high-water mark has been flushed. */
  private draining: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private done = false;

  constructor(
    private readonly socket: WebSocket,
    id: string,
    /** Pushes results, and gives them one at a time when pulled (masked as Yoga's envelope would). */
    private readonly shared: SharedResults,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"${MessageType.Next}","payload":`);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Not an async function: a subscription waits here for as long as it is pushed to, and a
   * suspended async function's frame, kept per idle subscription, was a good part of its memory.
   */
  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    const draining = this.draining;
    if (draining)
      return draining.then(() => {
        if (this.draining === draining) this.draining = null;
        return this.next();
      });
    if (this.shared.push(this))
      // Settled by resume() with what next() gives then.
      return new Promise((resolve) => {
        this.wake = resolve;
      });
    return this.shared.next();
  }

  deliver(_result: ExecutionResult, payload: Buffer): void {
    if (this.done || this.socket.readyState !== this.socket.OPEN) return;
    const frame = Buffer.allocUnsafe(this.prefix.length + payload.length + 1);
    this.prefix.copy(frame, 0);
    payload.copy(frame, this.prefix.length);
    CLOSE.copy(frame, frame.length - 1);
    if (this.socket.bufferedAmount + frame.length <= SOCKET_HIGH_WATER) {
      this.socket.send(frame, TEXT);
      return;
    }
    // Full: this subscription's next events wait in its feed until this frame is written.
    if (this.draining) this.socket.send(frame, TEXT);
    else
      this.draining = new Promise<void>((resolve) => {
        this.drained = resolve;
        this.socket.send(frame, TEXT, () => this.drain());
      });
    this.shared.stop();
  }

  private drain(): void {
    const drained = this.drained;
    this.drained = null;
    drained?.();
  }

  resume(): void {
    const wake = this.wake;
    this.wake = null;
    if (wake) wake(this.next());
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.done = true;
    this.shared.stop();
    this.resume();
    this.drain();
    return await this.shared.return();
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }
}
