import type { PrincipalId, TenantId } from '#core';
import { randomId } from '#core';
import { AccountStore } from '#auth';
import type { AccountRecord, Principal, Tenant } from '#auth';
import type { Database } from './database.js';

/** Tenants and local accounts in Postgres. */
export class TypeOrmAccountStore extends AccountStore {
  constructor(private readonly database: Database) {
    super();
  }

  async createTenant(tenant: Tenant): Promise<boolean> {
    const rows = await this.database.rows(
      `INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [tenant.id, tenant.name],
    );
    return rows.length === 1;
  }

  async findTenant(tenantId: TenantId): Promise<Tenant | null> {
    const [row] = await this.database.rows<{ id: string; name: string }>(
      `SELECT id, name FROM tenants WHERE id = $1`,
      [tenantId],
    );
    return row ? { id: row.id as TenantId, name: row.name } : null;
  }

  async createAccount(
    tenantId: TenantId,
    username: string,
    passwordHash: string,
  ): Promise<Principal | null> {
    const id = randomId('prn_', 22) as PrincipalId;
    // One statement: the principal exists only if its account does.
    const rows = await this.database.tenantRows(
      tenantId,
      `WITH principal AS (
         INSERT INTO principals (tenant_id, id, kind)
         SELECT $1, $2, 'user' WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE lower(username) = lower($3))
         RETURNING tenant_id, id
       )
       INSERT INTO accounts (tenant_id, principal_id, username, password_hash)
       SELECT tenant_id, id, $3, $4 FROM principal
       ON CONFLICT DO NOTHING
       RETURNING principal_id`,
      [tenantId, id, username, passwordHash],
    );
    return rows.length === 1 ? { tenantId, id, kind: 'user' } : null;
  }

  async findAccount(username: string): Promise<AccountRecord | null> {
    const [row] = await this.database.rows<{
      tenant_id: string;
      principal_id: string;
      username: string;
      password_hash: string;
    }>(
      `SELECT tenant_id, principal_id, username, password_hash FROM accounts
       WHERE lower(username) = lower($1)`,
      [username],
    );
    if (!row) return null;
    return {
      principal: {
        tenantId: row.tenant_id as TenantId,
        id: row.principal_id as PrincipalId,
        kind: 'user',
      },
      username: row.username,
      passwordHash: row.password_hash,
    };
  }

  async findExternalIdentity(issuer: string, subject: string): Promise<Principal | null> {
    const [row] = await this.database.rows<{ tenant_id: string; principal_id: string }>(
      'SELECT tenant_id, principal_id FROM external_identities WHERE issuer = $1 AND subject = $2',
      [issuer, subject],
    );
    return row
      ? { tenantId: row.tenant_id as TenantId, id: row.principal_id as PrincipalId, kind: 'user' }
      : null;
  }

  async linkExternalIdentity(
    tenantId: TenantId,
    issuer: string,
    subject: string,
    displayName: string,
  ): Promise<Principal> {
    const id = randomId('prn_', 22) as PrincipalId;
    // One statement: the principal exists only if the link does; a concurrent first sign-in of
    // the same person links once, and the loser reads the winner's principal.
    await this.database.tenantRows(
      tenantId,
      `WITH principal AS (
         INSERT INTO principals (tenant_id, id, kind)
         SELECT $1, $2, 'user'
         WHERE NOT EXISTS (SELECT 1 FROM external_identities WHERE issuer = $3 AND subject = $4)
         RETURNING tenant_id, id
       )
       INSERT INTO external_identities (issuer, subject, tenant_id, principal_id, display_name)
       SELECT $3, $4, tenant_id, id, $5 FROM principal
       ON CONFLICT DO NOTHING`,
      [tenantId, id, issuer, subject, displayName.slice(0, 200)],
    );
    const linked = await this.findExternalIdentity(issuer, subject);
    if (!linked) throw new Error('the external identity could not be linked');
    return linked;
  }
}
