/**
 * Waits until `predicate` holds, checking every 50 ms; fails with "timed out waiting for <what>"
 * after `timeoutMs`. For what another process or a background task does in its own time.
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
