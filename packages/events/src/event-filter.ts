import type { TaskEvent, TaskFilter } from '@taskplane/core';

/** The subset of `TaskFilter` an event can be judged by without reading the task's record. */
export type EventFilter = Pick<TaskFilter, 'status' | 'type' | 'queue' | 'labels' | 'scheduleId'> & {
  /** Only events of these tasks. */
  taskIds?: string[];
  /** Only these kinds. */
  kinds?: TaskEvent['kind'][];
  /** Only events of this workflow's nodes. */
  workflowId?: string;
};

export function matchesEvent(event: TaskEvent, filter: EventFilter): boolean {
  if (filter.taskIds?.length && !filter.taskIds.includes(event.taskId)) return false;
  if (filter.kinds?.length && !filter.kinds.includes(event.kind)) return false;
  if (filter.status?.length && !filter.status.includes(event.status)) return false;
  if (filter.type?.length && !filter.type.includes(event.type)) return false;
  if (filter.queue?.length && !filter.queue.includes(event.queue)) return false;
  if (filter.scheduleId !== undefined && event.scheduleId !== filter.scheduleId) return false;
  if (filter.workflowId !== undefined && event.workflowId !== filter.workflowId) return false;
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    if (event.labels[key] !== value) return false;
  }
  return true;
}

/** A stable key for a filter: subscribers with equal keys share one evaluation per event. */
export function filterKey(filter: EventFilter): string {
  const sorted = (list?: string[]) => (list?.length ? [...list].sort() : undefined);
  return JSON.stringify([
    sorted(filter.taskIds),
    sorted(filter.kinds),
    sorted(filter.status),
    sorted(filter.type),
    sorted(filter.queue),
    filter.labels ? Object.entries(filter.labels).sort(([a], [b]) => a.localeCompare(b)) : undefined,
    filter.scheduleId,
    filter.workflowId,
  ]);
}
