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
    scheduleId: f.sc || null,
    workflowId: f.wf || null,
  };
}
