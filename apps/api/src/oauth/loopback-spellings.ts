/**
 * A server whose PUBLIC_URL names a loopback host is reached as `localhost`, `127.0.0.1` and
 * `[::1]` alike, and clients compare the protected resource's URL with the one they were given
 * by origin (RFC 9728 §3.3, RFC 8707 §2): `http://localhost:8080/mcp` is not
 * `http://127.0.0.1:8080/mcp` to them. So on loopback the resource answers under the spelling a
 * request used, and tokens are issued and accepted for any spelling of the same scheme and port.
 * A PUBLIC_URL on any other host has one spelling only: itself.
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** PUBLIC_URL first, then the same URL under each other loopback name (none when not loopback). */
export function loopbackSpellings(publicUrl: string): readonly string[] {
  const url = new URL(publicUrl);
  if (!isLoopbackName(url.hostname)) return [publicUrl];
  const others = LOOPBACK_NAMES.filter((name) => name !== url.hostname).map((name) => {
    const alias = new URL(publicUrl);
    alias.hostname = name;
    return alias.href.replace(/\/+$/, '');
  });
  return [publicUrl, ...others];
}

/**
 * The spelling of PUBLIC_URL a request addressed with `host` (its Host header) used: a loopback
 * spelling of the same port, or else PUBLIC_URL itself. Never a host outside
 * {@link loopbackSpellings}, so a forged Host header can name nothing else.
 */
export function publicUrlFor(publicUrl: string, host: string | undefined): string {
  if (!host) return publicUrl;
  const canonical = new URL(publicUrl);
  let addressed: URL;
  try {
    addressed = new URL(`${canonical.protocol}//${host}`);
  } catch {
    return publicUrl;
  }
  if (addressed.host === canonical.host) return publicUrl;
  const match = loopbackSpellings(publicUrl)
    .slice(1)
    .find((spelling) => new URL(spelling).host === addressed.host);
  return match ?? publicUrl;
}

/**
 * Every URL in `urls` (each PUBLIC_URL or below it) under every spelling of PUBLIC_URL, the given
 * ones first, in order.
 */
export function underEverySpelling(publicUrl: string, urls: readonly string[]): string[] {
  const all = loopbackSpellings(publicUrl).flatMap((spelling) =>
    urls.map((url) => spelling + url.slice(publicUrl.length)),
  );
  return [...new Set(all)];
}

function isLoopbackName(hostname: string): boolean {
  return (LOOPBACK_NAMES as readonly string[]).includes(hostname);
}
