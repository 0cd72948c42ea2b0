/**
 * Resolves with the first value `probe` returns that is not `undefined`, polling every `everyMs`;
 * fails after `timeoutMs` naming `what` and the last value seen by `describe`.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  {
    timeoutMs = 60_000,
    everyMs = 200,
    describe = () => '',
  }: { timeoutMs?: number; everyMs?: number; describe?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
