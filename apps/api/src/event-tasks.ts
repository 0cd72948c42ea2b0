import type { Task, TaskEvent } from '@taskplane/core';
import type { EventFeed, FeedListener } from '@taskplane/events';
import type { TaskStore } from '@taskplane/queue';
import DataLoader from 'dataloader';

/** Events ahead of the one taken whose tasks start loading with it. */
const PREFETCH = 200;

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

  /**
   * The feed, loading ahead: each time its consumer takes an event, the tasks of the events waiting
   * behind it start loading too (one pipeline for all of them). A subscriber pulls one event at a
   * time, so without this every event would wait for its own round trip and a busy feed would
   * outrun it.
   */
  prefetching(feed: EventFeed): EventFeed {
    return new PrefetchingFeed(this, feed);
  }

  of(event: TaskEvent): Promise<Task | null> {
    let task = this.byEvent.get(event);
    if (!task) {
      task = this.loader.load(event.taskId);
      // A load started ahead may never be awaited (its subscriber left): not an unhandled rejection.
      task.catch(() => {});
      this.byEvent.set(event, task);
    }
    return task;
  }
}

/** A feed whose tasks load ahead (see `EventTasks.prefetching`); a class, as one lives per subscription. */
class PrefetchingFeed implements EventFeed {
  /**
   * Events behind the current one whose loads have started. Loads start a window at a time, not one
   * more per event taken: a window's reads go out in one pipeline.
   */
  private ahead = 0;

  constructor(
    private readonly tasks: EventTasks,
    private readonly feed: EventFeed,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<TaskEvent>> {
    const result = await this.feed.next();
    if (!result.done) {
      this.tasks.of(result.value);
      this.ahead = Math.max(0, this.ahead - 1);
      if (this.ahead < PREFETCH / 4) {
        const waiting = this.feed.peek(PREFETCH);
        for (const event of waiting) this.tasks.of(event);
        this.ahead = waiting.length;
      }
    }
    return result;
  }

  return(): Promise<IteratorResult<TaskEvent>> {
    return this.feed.return!();
  }

  close(): void {
    this.feed.close();
  }

  peek(count: number): readonly TaskEvent[] {
    return this.feed.peek(count);
  }

  // Listened-to events are executed as they come, which loads their tasks: nothing to load ahead.
  listen(listener: FeedListener | null): boolean {
    return this.feed.listen?.(listener) ?? false;
  }
}
