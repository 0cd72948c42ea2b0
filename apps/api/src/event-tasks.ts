import type { Task, TaskEvent } from '@taskplane/core';
import type { TaskStore } from '@taskplane/queue';
import DataLoader from 'dataloader';

/**
 * The task an event is about, as it is now, for `TaskEvent.task`. Read once per event however
 * many subscriptions select it (the event hub hands every subscriber the same event object), and
 * batched with the reads of other events in the same tick into one pipeline: a burst of events
 * costs one round trip per batch, not one per event per subscription.
 */
export class EventTasks {
  private readonly loader: DataLoader<string, Task | null>;
  private readonly byEvent = new WeakMap<TaskEvent, Promise<Task | null>>();

  constructor(store: TaskStore) {
    // No cache across ticks: a task changes with every event, and each event wants it as it is then.
    this.loader = new DataLoader((ids) => store.getMany([...ids]), { cache: false, maxBatchSize: 500 });
  }

  of(event: TaskEvent): Promise<Task | null> {
    let task = this.byEvent.get(event);
    if (!task) {
      task = this.loader.load(event.taskId);
      this.byEvent.set(event, task);
    }
    return task;
  }
}
