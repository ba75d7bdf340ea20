import { DomainError, InvalidRequestError } from '#core';
import type { TenantId } from '#core';
import type { Principal, Tenant } from '../principal.js';
import type { PasswordHasher } from '../oauth/password-hasher.js';
import type { AccountStore } from './account.store.js';
import { displayNameOf, tenantOf } from './oidc-identity.js';
import type { TenantMapping, UpstreamClaims } from './oidc-identity.js';

/** A person signed in upstream who cannot be placed in a tenant here. */
export class UpstreamIdentityError extends DomainError {
  readonly kind = 'forbidden';
  readonly code = 'ACCESS_DENIED';
}

/** Shortest password accepted (NIST SP 800-63B §3.1.1.2 asks for at least 8). */
export const MIN_PASSWORD_LENGTH = 12;
const USERNAME = /^[A-Za-z0-9._@+-]{3,254}$/;
const TENANT_ID = /^ten_[a-z0-9_-]{1,60}$/;

/** Local accounts (AUTH_MODE=local): tenants, sign-up by an administrator, sign-in. */
export class AccountService {
  /** A hash to check against when the username is unknown, so both cases take as long. */
  private decoy: Promise<string> | null = null;

  constructor(
    private readonly store: AccountStore,
    private readonly hasher: PasswordHasher,
  ) {}

  async createTenant(id: string, name: string): Promise<Tenant> {
    if (!TENANT_ID.test(id)) {
      throw new InvalidRequestError(
        'A tenant id is "ten_" followed by 1-60 lowercase letters, digits, "_" or "-".',
      );
    }
    const tenant: Tenant = { id: id as TenantId, name: name.trim() || id };
    if (!(await this.store.createTenant(tenant))) {
      throw new InvalidRequestError(`Tenant ${id} already exists.`);
    }
    return tenant;
  }

  async createAccount(tenantId: TenantId, username: string, password: string): Promise<Principal> {
    if (!(await this.store.findTenant(tenantId))) {
      throw new InvalidRequestError(`Tenant ${tenantId} does not exist; create it first.`);
    }
    if (!USERNAME.test(username)) {
      throw new InvalidRequestError(
        'A username is 3-254 letters, digits or . _ @ + - (an email address works).',
      );
    }
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new InvalidRequestError(`A password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
    }
    const principal = await this.store.createAccount(
      tenantId,
      username,
      await this.hasher.hash(password),
    );
    if (!principal) throw new InvalidRequestError(`The username ${username} is taken.`);
    return principal;
  }

  /**
   * The principal of a person signed in upstream (AUTH_MODE=oidc): the one their identity was
   * linked to, or a new one in the tenant the mapping names. Refuses a person whose organisation
   * has no tenant here, or whose identity belongs to another tenant than the mapping now says.
   */
  async signInUpstream(claims: UpstreamClaims, mapping: TenantMapping): Promise<Principal> {
    const tenantId = tenantOf(claims, mapping);
    const linked = await this.store.findExternalIdentity(claims.iss, claims.sub);
    if (linked && (tenantId === null || linked.tenantId === tenantId)) return linked;
    if (!tenantId || !(await this.store.findTenant(tenantId))) {
      throw new UpstreamIdentityError(
        'Your organisation has no tenant on this server. Ask an administrator to add it.',
      );
    }
    if (linked) {
      throw new UpstreamIdentityError(
        'Your account belongs to another organisation on this server. Ask an administrator.',
      );
    }
    return this.store.linkExternalIdentity(tenantId, claims.iss, claims.sub, displayNameOf(claims));
  }

  /** The principal for a correct username and password, else null (the same way for both). */
  async signIn(username: string, password: string): Promise<Principal | null> {
    const account = await this.store.findAccount(username.trim());
    this.decoy ??= this.hasher.hash('decoy password, never valid');
    const matches = await this.hasher.verify(password, account?.passwordHash ?? (await this.decoy));
    return account && matches ? account.principal : null;
  }
}
