import { randomUUID } from 'node:crypto';
import { randomId, sha256Hex } from '#core';
import type { PrincipalId, TenantId } from '#core';
import { PrincipalStore, SessionStore } from '#auth';
import type { Principal, PrincipalKind } from '#auth';
import type { Database } from './database.js';

/** MCP sessions in Postgres, looked up by the SHA-256 of their id, within the caller's tenant. */
export class TypeOrmSessionStore extends SessionStore {
  constructor(private readonly database: Database) {
    super();
  }

  async open(principal: Principal): Promise<string> {
    const id = randomUUID();
    await this.database.tenantRows(
      principal.tenantId,
      'INSERT INTO mcp_sessions (id_hash, tenant_id, principal_id) VALUES ($1, $2, $3)',
      [sha256Hex(id), principal.tenantId, principal.id],
    );
    return id;
  }

  async find(tenantId: TenantId, sessionId: string): Promise<Principal | null> {
    const [row] = await this.database.tenantRows<PrincipalRow>(
      tenantId,
      `SELECT s.tenant_id, s.principal_id, p.kind FROM mcp_sessions s
       JOIN principals p ON p.tenant_id = s.tenant_id AND p.id = s.principal_id
       WHERE s.tenant_id = $1 AND s.id_hash = $2`,
      [tenantId, sha256Hex(sessionId)],
    );
    return row ? toPrincipal(row) : null;
  }

  async expire(before: Date): Promise<number> {
    // Row-level security lets no statement write across tenants: one delete per tenant.
    const tenants = await this.database.rows<{ id: string }>('SELECT id FROM tenants');
    let expired = 0;
    for (const { id } of tenants) {
      const rows = await this.database.tenantRows(
        id,
        'DELETE FROM mcp_sessions WHERE tenant_id = $1 AND created_at < $2 RETURNING id_hash',
        [id, before],
      );
      expired += rows.length;
    }
    return expired;
  }

  async close(tenantId: TenantId, sessionId: string): Promise<boolean> {
    const rows = await this.database.tenantRows(
      tenantId,
      'DELETE FROM mcp_sessions WHERE tenant_id = $1 AND id_hash = $2 RETURNING id_hash',
      [tenantId, sha256Hex(sessionId)],
    );
    return rows.length > 0;
  }
}

export class TypeOrmPrincipalStore extends PrincipalStore {
  constructor(private readonly database: Database) {
    super();
  }

  async create(tenantId: TenantId, kind: PrincipalKind): Promise<Principal> {
    const id = randomId('prn_', 22) as PrincipalId;
    await this.database.tenantRows(
      tenantId,
      'INSERT INTO principals (tenant_id, id, kind) VALUES ($1, $2, $3)',
      [tenantId, id, kind],
    );
    return { tenantId, id, kind };
  }

  async find(tenantId: TenantId, principalId: PrincipalId): Promise<Principal | null> {
    const [row] = await this.database.tenantRows<PrincipalRow>(
      tenantId,
      'SELECT tenant_id, id AS principal_id, kind FROM principals WHERE tenant_id = $1 AND id = $2',
      [tenantId, principalId],
    );
    return row ? toPrincipal(row) : null;
  }
}

interface PrincipalRow {
  tenant_id: string;
  principal_id: string;
  kind: PrincipalKind;
}

function toPrincipal(row: PrincipalRow): Principal {
  return {
    tenantId: row.tenant_id as TenantId,
    id: row.principal_id as PrincipalId,
    kind: row.kind,
  };
}
