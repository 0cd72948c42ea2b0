import type { HandlerMap } from '@taskplane/core';

/**
 * The bench's task handlers, loaded by real worker processes through `workers.handler_modules`. The
 * no-op handler returns the moment it finished (`Date.now()`), so a subscriber that selects
 * `task { result }` can time an event from the handler's end, not from the submit.
 */
const handlers: HandlerMap = {
  // `at` is the wall clock with sub-millisecond resolution, comparable across processes on one host.
  bench_noop: async () => ({ finishedAt: Date.now(), at: performance.timeOrigin + performance.now() }),
};

export default handlers;
