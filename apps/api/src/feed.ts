/**
 * A small push-to-pull bridge: producers `push`, one consumer iterates. Bounded: a consumer that
 * falls `limit` items behind loses the oldest (snapshots are superseded by newer ones anyway).
 */
export class Feed<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private closed = false;

  constructor(
    private readonly onClose: () => void = () => {},
    private readonly limit = 1000,
  ) {}

  push(item: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.items.length > this.limit) this.items.shift();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Many feeds fed from one source. */
export class Broadcast<T> {
  private readonly feeds = new Set<Feed<T>>();

  get size(): number {
    return this.feeds.size;
  }

  subscribe(): Feed<T> {
    const feed: Feed<T> = new Feed(() => this.feeds.delete(feed));
    this.feeds.add(feed);
    return feed;
  }

  publish(item: T): void {
    for (const feed of this.feeds) feed.push(item);
  }

  closeAll(): void {
    for (const feed of this.feeds) feed.close();
  }
}
