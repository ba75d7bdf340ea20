import { describe, expect, it } from '@jest/globals';
import type { PrincipalId, TenantId } from '#core';
import { CachingSessionStore } from './caching-session.store.js';
import type { Principal } from './principal.js';
import { SessionStore } from './session.store.js';

/** A SessionStore in a Map that counts look-ups: an in-memory fake of the port, not of a database. */
class CountingSessionStore extends SessionStore {
  readonly sessions = new Map<string, Principal>();
  finds = 0;

  open(principal: Principal): Promise<string> {
    const id = `s${this.sessions.size}`;
    this.sessions.set(id, principal);
    return Promise.resolve(id);
  }

  find(tenantId: TenantId, sessionId: string): Promise<Principal | null> {
    this.finds += 1;
    const principal = this.sessions.get(sessionId);
    return Promise.resolve(principal?.tenantId === tenantId ? principal : null);
  }

  expire(): Promise<number> {
    return Promise.resolve(0);
  }

  close(tenantId: TenantId, sessionId: string): Promise<boolean> {
    const principal = this.sessions.get(sessionId);
    return Promise.resolve(principal?.tenantId === tenantId && this.sessions.delete(sessionId));
  }
}

const tenant = 't' as TenantId;

const principal: Principal = {
  tenantId: tenant,
  id: 'p' as PrincipalId,
  kind: 'anonymous',
};

describe('CachingSessionStore', () => {
  it('answers repeated look-ups from memory until the time to live passes', async () => {
    let now = 0;
    const inner = new CountingSessionStore();
    const store = new CachingSessionStore(inner, 1000, 10, () => now);
    const id = await store.open(principal);
    expect(await store.find(tenant, id)).toEqual(principal);
    expect(await store.find(tenant, id)).toEqual(principal);
    expect(inner.finds).toBe(1);
    now = 1001;
    expect(await store.find(tenant, id)).toEqual(principal);
    expect(inner.finds).toBe(2);
  });

  it('forgets a session closed through it, and never caches unknown ids', async () => {
    const inner = new CountingSessionStore();
    const store = new CachingSessionStore(inner);
    const id = await store.open(principal);
    await store.find(tenant, id);
    expect(await store.close(tenant, id)).toBe(true);
    expect(await store.find(tenant, id)).toBeNull();
    expect(await store.find(tenant, id)).toBeNull();
    expect(inner.finds).toBe(3);
  });
});
