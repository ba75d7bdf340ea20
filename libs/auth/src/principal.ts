import type { PrincipalId, TenantId } from '#core';

/** An organisation. Every row belongs to exactly one tenant (DESIGN §4). */
export interface Tenant {
  readonly id: TenantId;
  readonly name: string;
}

/**
 * What a principal is: an anonymous one created for one grant in the `open` mode, a person with
 * an account (local or upstream OIDC), or a script acting through the client-credentials grant.
 */
export type PrincipalKind = 'anonymous' | 'user' | 'service';

/** Who authorised the client, within a tenant: the subject of the request's access token. */
export interface Principal {
  readonly tenantId: TenantId;
  readonly id: PrincipalId;
  readonly kind: PrincipalKind;
}

/** The tenant anonymous principals and `open`-mode clients belong to. */
export const DEFAULT_TENANT_ID = 'ten_default' as TenantId;
