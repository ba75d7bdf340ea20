import type { PrincipalId, TenantId } from '#core';
import type { Principal, PrincipalKind } from './principal.js';

/**
 * Where MCP sessions live, so any API replica can serve any request and sessions survive a
 * restart. A session only names the principal that opened it; it is never a credential for a seat,
 * and never required (DESIGN §4).
 */
export abstract class SessionStore {
  /** Records a new session of `principal` and returns its id. */
  abstract open(principal: Principal): Promise<string>;
  /** The principal of a live session of the tenant, or null (unknown, closed, another tenant's). */
  abstract find(tenantId: TenantId, sessionId: string): Promise<Principal | null>;
  /** Ends a session of the tenant; false when it was not open. */
  abstract close(tenantId: TenantId, sessionId: string): Promise<boolean>;
  /**
   * Ends every session opened before `before`, tenant by tenant; returns how many. A client that
   * sends an ended session's id gets 404 and initialises again (DESIGN §4).
   */
  abstract expire(before: Date): Promise<number>;
}

/** Principals: who authorised a client, within a tenant. */
export abstract class PrincipalStore {
  abstract create(tenantId: TenantId, kind: PrincipalKind): Promise<Principal>;
  abstract find(tenantId: TenantId, principalId: PrincipalId): Promise<Principal | null>;
}
