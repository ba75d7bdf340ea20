import type { PrincipalId, TenantId } from '#core';

/** An organisation. Every row belongs to exactly one tenant (DESIGN §4). */
export interface Tenant {
  readonly id: TenantId;
  readonly name: string;
}

/**
 * Who authorised the client, within a tenant. Until OAuth lands every MCP session and every
 * session-less request is an anonymous principal of the default tenant.
 */
export interface Principal {
  readonly tenantId: TenantId;
  readonly id: PrincipalId;
  readonly kind: 'anonymous';
  /**
   * True for the principal of a request that carries no session: it lives for that request only,
   * so seats are never re-bound to it (it acts through `member_token`).
   */
  readonly transient: boolean;
}

/** The tenant that anonymous principals belong to before tenants are provisioned. */
export const DEFAULT_TENANT_ID = 'ten_default' as TenantId;
