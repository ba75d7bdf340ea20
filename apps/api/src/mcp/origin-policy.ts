/**
 * DNS-rebinding guard (MCP transports, "Security Warning"; CVE-2025-66414): a request that carries
 * an `Origin` must come from the server's own public origin, a configured origin, or a loopback page.
 * Requests without `Origin` (non-browser clients) pass.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(publicUrl: string, extra: readonly string[]) {
    this.allowed = new Set([
      new URL(publicUrl).origin,
      ...extra.map((origin) => origin.replace(/\/+$/, '')),
    ]);
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.allowed.has(origin)) return true;
    try {
      const url = new URL(origin);
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
      );
    } catch {
      return false;
    }
  }
}
