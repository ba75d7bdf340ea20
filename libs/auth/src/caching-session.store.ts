import type { TenantId } from '#core';
import type { Principal } from './principal.js';
import { SessionStore } from './session.store.js';

/**
 * Keeps recent session look-ups in memory: clients that keep a session send it on every request,
 * and a session only ever names the same principal. A session closed through this process is
 * forgotten at once; one closed through another replica is honoured here after at most `ttlMs`.
 */
export class CachingSessionStore extends SessionStore {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly inner: SessionStore,
    private readonly ttlMs = 60_000,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  open(principal: Principal): Promise<string> {
    return this.inner.open(principal);
  }

  async find(tenantId: TenantId, sessionId: string): Promise<Principal | null> {
    const key = `${tenantId}/${sessionId}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.principal;
    this.cache.delete(key);
    const principal = await this.inner.find(tenantId, sessionId);
    if (principal) {
      this.cache.set(key, { principal, until: this.now() + this.ttlMs });
      if (this.cache.size > this.capacity) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    return principal;
  }

  /** Cached look-ups of expired sessions still answer for at most `ttlMs`, like closes elsewhere. */
  expire(before: Date): Promise<number> {
    return this.inner.expire(before);
  }

  close(tenantId: TenantId, sessionId: string): Promise<boolean> {
    this.cache.delete(`${tenantId}/${sessionId}`);
    return this.inner.close(tenantId, sessionId);
  }
}
