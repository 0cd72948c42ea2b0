/**
 * Preloaded into the fan-out bench's servers (`NODE_OPTIONS=--expose-gc --import=<this file>`),
 * the same for all three: SIGURG runs a full garbage collection, so RSS is sampled without the
 * garbage a connection storm leaves behind, whenever V8 would have collected it by itself.
 */
if (typeof globalThis.gc === 'function') {
  process.on('SIGURG', () => {
    globalThis.gc();
    globalThis.gc();
  });
}
