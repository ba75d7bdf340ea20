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
  /** The principal of a live session, or null when the id is unknown or was closed. */
  abstract find(sessionId: string): Promise<Principal | null>;
  /** Ends a session; false when it was not open. */
  abstract close(sessionId: string): Promise<boolean>;
}

/** Principals: who authorised a client, within a tenant. */
export abstract class PrincipalStore {
  abstract create(tenantId: TenantId, kind: PrincipalKind): Promise<Principal>;
  abstract find(tenantId: TenantId, principalId: PrincipalId): Promise<Principal | null>;
}
