import { onDestroy } from 'svelte';

/**
 * The current time, ticking every `intervalMs`, for "seen 4 s ago" labels. This only redraws
 * labels; it never asks the API anything. Call while a component initialises.
 */
export function now(intervalMs = 1_000): { readonly now: number } {
  const clock = $state({ now: Date.now() });
  const timer = setInterval(() => {
    clock.now = Date.now();
  }, intervalMs);
  onDestroy(() => clearInterval(timer));
  return clock;
}
