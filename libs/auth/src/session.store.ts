import { randomId } from '#core';
import type { PrincipalId, TenantId } from '#core';
import type { Principal } from './principal.js';

/**
 * Where MCP sessions live, so any API replica can serve any request and sessions survive a
 * restart. A session only names the principal that opened it; it is never a credential for a seat.
 */
export abstract class SessionStore {
  /** Records a new session of `principal` and returns its id. */
  abstract open(principal: Principal): Promise<string>;
  /** The principal of a live session, or null when the id is unknown or was closed. */
  abstract find(sessionId: string): Promise<Principal | null>;
  /** Ends a session; false when it was not open. */
  abstract close(sessionId: string): Promise<boolean>;
}

/** Creates principals. A session's anonymous principal is stored so later requests can find it. */
export abstract class PrincipalStore {
  abstract createAnonymous(tenantId: TenantId): Promise<Principal>;
}

/**
 * A principal for one self-contained request that carries no session: it holds no seat unless it
 * joins, and it is never stored. Clients that keep no session act through `member_token`.
 */
export function transientPrincipal(tenantId: TenantId): Principal {
  return { tenantId, id: randomId('prn_', 22) as PrincipalId, kind: 'anonymous', transient: true };
}
