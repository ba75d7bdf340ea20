import type { TenantId } from '#core';

/** How a person signed in upstream is placed in a tenant (AUTH_MODE=oidc). */
export interface TenantMapping {
  /** A claim whose value is the tenant id (e.g. an organisation claim the provider adds). */
  readonly claim: string | null;
  /** Email domains (lower case) and their tenants; the email must be verified. */
  readonly domains: ReadonlyMap<string, TenantId>;
}

/** The claims of an ID token this server reads. */
export interface UpstreamClaims {
  readonly iss: string;
  readonly sub: string;
  readonly [claim: string]: unknown;
}

/**
 * The tenant an upstream identity belongs to: the configured claim first, else the domain of a
 * verified email address. Null when neither names a tenant.
 */
export function tenantOf(claims: UpstreamClaims, mapping: TenantMapping): TenantId | null {
  if (mapping.claim) {
    const value = claims[mapping.claim];
    if (typeof value === 'string' && value) return value as TenantId;
  }
  const email = claims['email'];
  if (typeof email === 'string' && claims['email_verified'] === true) {
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    return mapping.domains.get(domain) ?? null;
  }
  return null;
}

/** What the consent page calls the person: their email, name, or subject. */
export function displayNameOf(claims: UpstreamClaims): string {
  for (const claim of ['email', 'preferred_username', 'name']) {
    const value = claims[claim];
    if (typeof value === 'string' && value) return value;
  }
  return claims.sub;
}
