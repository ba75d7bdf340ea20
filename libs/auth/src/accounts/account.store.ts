import type { TenantId } from '#core';
import type { Principal, Tenant } from '../principal.js';

/** A local account: a person of one tenant who signs in with a username and password. */
export interface AccountRecord {
  readonly principal: Principal;
  readonly username: string;
  readonly passwordHash: string;
}

/** Tenants and their local accounts. Usernames are unique across tenants. */
export abstract class AccountStore {
  /** Creates a tenant; false when the id is taken. */
  abstract createTenant(tenant: Tenant): Promise<boolean>;
  abstract findTenant(tenantId: TenantId): Promise<Tenant | null>;
  /** Creates a user principal with an account; null when the username is taken. */
  abstract createAccount(
    tenantId: TenantId,
    username: string,
    passwordHash: string,
  ): Promise<Principal | null>;
  /** Looks an account up by username, case-insensitively. */
  abstract findAccount(username: string): Promise<AccountRecord | null>;
  /** The principal an upstream identity (issuer, subject) was linked to, if any. */
  abstract findExternalIdentity(issuer: string, subject: string): Promise<Principal | null>;
  /**
   * Creates a user principal of the tenant for an upstream identity; returns the existing one if
   * another request linked it first.
   */
  abstract linkExternalIdentity(
    tenantId: TenantId,
    issuer: string,
    subject: string,
    displayName: string,
  ): Promise<Principal>;
}
