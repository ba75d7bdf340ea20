/** Hosts a native client's loopback redirect may use (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Schemes that must never receive an authorization code. */
const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'file:',
  'blob:',
  'vbscript:',
  'about:',
]);

/**
 * Why a redirect URI cannot be registered, or null when it can: an absolute URL without a
 * fragment that is https, http on a loopback host (native apps, RFC 8252 §7.3), or a private-use
 * scheme in reverse-domain form (native apps, RFC 8252 §7.1).
 */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length > 2000) return 'is longer than 2000 characters';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.hash || uri.includes('#')) return 'must not have a fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname) ? null : 'must use https (http only on loopback)';
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `uses the forbidden scheme ${url.protocol}`;
  if (/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)) return null;
  return 'must use https, loopback http, or a reverse-domain private-use scheme';
}

/**
 * Whether the redirect URI of an authorization request matches a registered one: exactly, except
 * that a loopback redirect may use any port (RFC 8252 §7.3; native apps pick a free port). The
 * requested URI must itself pass registration's rules, so a fragment (RFC 6749 §3.1.2), which
 * the loopback comparison would not see, or a URI stored before a rule existed, never matches.
 */
export function redirectUriMatches(requested: string, registered: readonly string[]): boolean {
  if (redirectUriProblem(requested) !== null) return false;
  if (registered.includes(requested)) return true;
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return false;
  return registered.some((candidate) => {
    const known = new URL(candidate);
    return (
      known.protocol === 'http:' &&
      known.hostname === url.hostname &&
      known.pathname === url.pathname &&
      known.search === url.search
    );
  });
}
