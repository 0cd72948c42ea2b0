/**
 * The messages between `RelayedWebSocket` (the page) and `socket-relay.worker.ts` (a dedicated
 * worker that owns the real WebSocket). One shape per direction, shared so neither side drifts.
 */

/** Page → worker. */
export type ToSocket =
  | { type: 'open'; url: string; protocols: string | string[] | undefined }
  | { type: 'send'; data: string }
  | { type: 'close'; code: number | undefined; reason: string | undefined };

/** Worker → page. `messages` carries every frame received since the last post, oldest first. */
export type FromSocket =
  | { type: 'open'; protocol: string }
  | { type: 'messages'; data: string[] }
  | { type: 'error' }
  | { type: 'close'; code: number; reason: string; wasClean: boolean };

/**
 * How long the worker gathers frames before posting them to the page, once frames come faster
 * than this: at a thousand events a second the page runs about 60 tasks for them, not a thousand.
 * A frame after a quiet spell is posted at once, so a slow stream gains no latency. The page
 * applies live events at most every 100 ms anyway (`APPLY_EVERY_MS` in `lib/live/`), so the batch
 * costs nothing the operator can see.
 */
export const RELAY_BATCH_MS = 16;
