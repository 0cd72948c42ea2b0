import type { TaskEvent } from '@taskplane/core';

function parseJson(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** An event stream entry (field list as Redis returns it) as a `TaskEvent`. */
export function decodeStreamEntry(cursor: string, fields: string[]): TaskEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    cursor,
    kind: f.k as TaskEvent['kind'],
    taskId: f.id ?? '',
    queue: f.q ?? '',
    type: f.t ?? '',
    status: f.s as TaskEvent['status'],
    at: Number(f.at),
    labels: parseJson(f.l) as Record<string, string>,
    data: parseJson(f.d),
  };
}

/** The separator between events in one live message (ASCII record separator). */
const RECORD_SEPARATOR = '\u001e';

/** A live message as the scripts publish it: the events one script call wrote, oldest first. */
export function decodeLiveMessages(message: string): TaskEvent[] {
  const events: TaskEvent[] = [];
  for (const part of message.split(RECORD_SEPARATOR)) {
    const event = decodeLiveMessage(part);
    if (event) events.push(event);
  }
  return events;
}

/**
 * One event of a live message as the scripts publish it: the same fields as the stream entry, newline-separated
 * in a fixed order (cursor, kind, id, queue, type, status, at, labels, data). Labels and data are
 * JSON without raw newlines, so the split is safe.
 */
export function decodeLiveMessage(message: string): TaskEvent | null {
  const parts = message.split('\n');
  if (parts.length !== 9) return null;
  const [cursor, kind, taskId, queue, type, status, at, labels, data] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    cursor,
    kind: kind as TaskEvent['kind'],
    taskId,
    queue,
    type,
    status: status as TaskEvent['status'],
    at: Number(at),
    labels: parseJson(labels) as Record<string, string>,
    data: parseJson(data),
  };
}
