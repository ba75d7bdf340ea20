/**
 * A request without the token it needs. Rendered by the edge as 401 or 403 with a
 * `WWW-Authenticate: Bearer` challenge naming the resource metadata and the scopes to ask for.
 */
export class BearerChallengeError extends Error {
  constructor(
    readonly status: 401 | 403,
    /** RFC 6750 §3.1: absent when no token was sent at all. */
    readonly error: 'invalid_token' | 'insufficient_scope' | null,
    readonly scopes: readonly string[],
    readonly resourceMetadata: string,
  ) {
    super(error ?? 'authorization required');
  }

  get header(): string {
    const parts = [`resource_metadata="${this.resourceMetadata}"`];
    if (this.error) parts.unshift(`error="${this.error}"`);
    if (this.scopes.length > 0) parts.push(`scope="${this.scopes.join(' ')}"`);
    return `Bearer ${parts.join(', ')}`;
  }

  /** One sentence for the body: what to do next. */
  get description(): string {
    if (this.error === 'insufficient_scope') {
      return `This token lacks a scope this request needs; authorize again asking for: ${this.scopes.join(' ')}.`;
    }
    if (this.error === 'invalid_token') {
      return 'The access token is invalid, expired, or for another server; refresh it or authorize again.';
    }
    return 'An access token is required; the WWW-Authenticate header says where to get one.';
  }
}
