import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ApiErrorCode, type TaskplaneClientError } from './errors';
import { iterate, type Subscription, type Transport } from './transport';

/** Options of `followCursor`. */
export interface FollowCursorOptions<R, V extends { after?: string | null }> {
  /** The variables besides `after`, read again on every (re)subscription. */
  variables(): Omit<V, 'after'>;
  /** Start after this cursor (`"0"`: everything the log keeps), or null to start live. */
  after: string | null;
  /** The cursor of one result: the next (re)subscription asks for what follows it. */
  cursorOf(data: R): string;
  next(data: R): void;
  /** The stream failed for good (the API refused it, the socket gave up, an unhandled expiry). */
  error(error: TaskplaneClientError): void;
  /** The server ended the stream. */
  complete?(): void;
  /**
   * The API no longer keeps the events after the last cursor (CURSOR_EXPIRED): some were lost.
   * Return where to carry on (a cursor, or null for live), once ready (e.g. after re-reading
   * state); without this option, expiry is an `error`.
   */
  expired?(error: TaskplaneClientError): string | null | Promise<string | null>;
}

/** A running `followCursor`. */
export interface CursorFollow {
  /** The cursor of the last result received (or the start cursor): where a resume starts. */
  readonly lastCursor: string | null;
  /** Ends the stream (the server is told); nothing is delivered after. */
  close(): void;
}

/**
 * The one resume implementation of every client (the CLI, bots and the console's live stores): a
 * cursored subscription that misses nothing and repeats nothing across dropped sockets.
 *
 * - Each result's cursor is remembered, and every (re)subscription asks for `after` it: graphql-ws
 *   re-sends the subscription when it reopens a dropped socket, with the variables read afresh.
 * - SUBSCRIBER_TOO_SLOW (the API ended a reader that fell behind, after the events it had) is
 *   resumed the same way, after the last cursor, as the API asks.
 * - CURSOR_EXPIRED (the socket was down longer than the log keeps events) goes to `expired`, which
 *   says where to carry on; without it, the stream fails with the error.
 */
export function followCursor<R, V extends { after?: string | null }>(
  transport: Pick<Transport, 'live'>,
  document: TypedDocumentNode<R, V>,
  options: FollowCursorOptions<R, V>,
): CursorFollow {
  let cursor = options.after;
  let closed = false;
  let unsubscribe: () => void = () => {};

  const carryOn = async (error: TaskplaneClientError, expired: NonNullable<typeof options.expired>) => {
    let from: string | null;
    try {
      from = await expired(error);
    } catch (failure) {
      if (!closed) options.error(failure as TaskplaneClientError);
      return;
    }
    if (closed) return;
    cursor = from;
    subscribe();
  };

  const subscribe = () => {
    unsubscribe = transport.live(document, () => ({ ...options.variables(), after: cursor }) as V, {
      next(data) {
        cursor = options.cursorOf(data);
        options.next(data);
      },
      error(error) {
        if (closed) return;
        if (error.code === ApiErrorCode.SubscriberTooSlow) subscribe();
        else if (error.code === ApiErrorCode.CursorExpired && options.expired)
          void carryOn(error, options.expired);
        else options.error(error);
      },
      complete() {
        if (!closed) options.complete?.();
      },
    });
  };

  subscribe();
  return {
    get lastCursor() {
      return cursor;
    },
    close() {
      closed = true;
      unsubscribe();
    },
  };
}

/** A cursored subscription as an async iterator that resumes after the last result it received. */
export interface ResumableStream<T> extends Subscription<T> {
  /** The cursor of the last event received: resume from it with `after`. */
  readonly lastCursor: string | null;
}

/** `followCursor` as a pull iterator of `pick(result)`, for `for await` (the CLI, bots). */
export function resumable<R, V extends { after?: string | null }, T>(
  transport: Pick<Transport, 'live'>,
  document: TypedDocumentNode<R, V>,
  variables: V,
  pick: (data: R) => T,
  cursorOf: (data: R) => string,
): ResumableStream<T> {
  const { after = null, ...rest } = variables;
  let follow: CursorFollow | null = null;
  const results = iterate<R>((sink) => {
    follow = followCursor(transport, document, {
      variables: () => rest,
      after,
      cursorOf,
      next: sink.next,
      error: sink.error,
      complete: sink.complete,
    });
    return () => follow?.close();
  });
  const stream: ResumableStream<T> = {
    get lastCursor() {
      return follow?.lastCursor ?? null;
    },
    next: async () => {
      const result = await results.next();
      return result.done ? result : { done: false, value: pick(result.value) };
    },
    return: async () => {
      results.close();
      return { done: true, value: undefined };
    },
    close: results.close,
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
