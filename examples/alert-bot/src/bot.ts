import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  type AlertEvent,
  alertHistory,
  createClient,
  TaskplaneClientError,
  unwrap,
  watchAlerts,
} from '@taskplane/client';

export interface BotOptions {
  url: string;
  token: string;
  /** Where the cursor of the last alert event handled is kept between runs. */
  cursorFile: string;
  /** POST each alert event here as JSON; null = one JSON line per event on stdout. */
  forwardTo: string | null;
  /** Severities to forward (lower case); empty = all. */
  severities: string[];
  log: (message: string) => void;
  signal: AbortSignal;
}

/** The saved cursor, or null on a first run. */
export function readCursor(file: string): string | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8').trim();
  return text || null;
}

/** Saves the cursor so that a crash leaves either the old file or the new one, never half of one. */
export function saveCursor(file: string, cursor: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${cursor}\n`);
  renameSync(temporary, file);
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Posts one event until the receiver takes it (2xx), backing off up to 30 s between tries. */
async function post(url: string, event: AlertEvent, log: (m: string) => void, signal: AbortSignal) {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-taskplane-alert-cursor': event.cursor },
        body: JSON.stringify(event),
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      });
      await response.body?.cancel().catch(() => {});
      if (response.ok) return;
      log(`forward of ${event.cursor} answered ${response.status} (attempt ${attempt})`);
    } catch (error) {
      if (signal.aborted) return;
      log(`forward of ${event.cursor} failed: ${(error as Error).message} (attempt ${attempt})`);
    }
    await pause(Math.min(30_000, 250 * 2 ** attempt), signal);
  }
}

/**
 * Follows the `alerts` subscription from the saved cursor (on a first run, from the newest alert
 * event) and forwards each event, then saves its cursor: restarted, even after a SIGKILL, it
 * resumes after the last event it forwarded, missing none. (A kill between a forward and its save
 * forwards that one event again: receivers can drop repeats by the `x-taskplane-alert-cursor`
 * header or the `cursor` field.) While it runs, the client resumes dropped sockets by itself.
 */
export async function runBot(options: BotOptions): Promise<void> {
  const { url, token, cursorFile, forwardTo, log, signal } = options;
  const client = createClient({ url, token, retryAttempts: Number.POSITIVE_INFINITY });
  try {
    let after = readCursor(cursorFile);
    if (after === null) {
      const newest = unwrap(await alertHistory(client, { first: 1 }), 'AlertEventConnection');
      after = newest.nodes[0]?.cursor ?? '0';
      // Saved at once: a bot killed before its first alert resumes from here, not from a later "newest".
      saveCursor(cursorFile, after);
      log(`no saved cursor: starting after the newest alert event (${after})`);
    }
    const filter = options.severities.length
      ? { severity: options.severities.map((s) => s.toUpperCase()) as never }
      : null;
    for (let failures = 0; !signal.aborted; ) {
      const events = watchAlerts(client, { after, filter });
      const stop = () => events.close();
      signal.addEventListener('abort', stop, { once: true });
      log(`listening for alerts after ${after}`);
      try {
        for await (const event of events) {
          if (forwardTo) await post(forwardTo, event, log, signal);
          else process.stdout.write(`${JSON.stringify(event)}\n`);
          if (signal.aborted) break;
          saveCursor(cursorFile, event.cursor);
          after = event.cursor;
          failures = 0;
        }
      } catch (error) {
        // A slow reader or a lost socket resumes after the last cursor; a bad token or an expired
        // cursor will not get better by retrying.
        if (!(error instanceof TaskplaneClientError) || !error.retryable) throw error;
        log(`subscription failed (${error.code}): ${error.message}`);
      } finally {
        signal.removeEventListener('abort', stop);
      }
      if (signal.aborted) break;
      // The server ended the subscription (an API process stopping): back off, then resume.
      failures++;
      await pause(Math.min(30_000, 250 * 2 ** failures), signal);
    }
  } finally {
    client.close();
  }
}
