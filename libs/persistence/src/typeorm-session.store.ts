import { randomUUID } from 'node:crypto';
import { randomId, sha256Hex } from '#core';
import type { PrincipalId, TenantId } from '#core';
import { PrincipalStore, SessionStore } from '#auth';
import type { Principal } from '#auth';
import type { DataSource } from 'typeorm';
import type { Database } from './database.js';
import { McpSessionEntity, PrincipalEntity } from './entities/index.js';

/** MCP sessions in Postgres, looked up by the SHA-256 of their id. */
export class TypeOrmSessionStore extends SessionStore {
  private readonly db: DataSource;

  constructor(private readonly database: Database) {
    super();
    this.db = database.dataSource;
  }

  async open(principal: Principal): Promise<string> {
    const id = randomUUID();
    await this.db.getRepository(McpSessionEntity).insert({
      idHash: sha256Hex(id),
      tenantId: principal.tenantId,
      principalId: principal.id,
    });
    return id;
  }

  /** On every request that carries a session id: one plain query, no entity mapping. */
  async find(sessionId: string): Promise<Principal | null> {
    const [row] = await this.database.rows<{ tenant_id: string; principal_id: string }>(
      'SELECT tenant_id, principal_id FROM mcp_sessions WHERE id_hash = $1',
      [sha256Hex(sessionId)],
    );
    if (!row) return null;
    const principal: Principal = {
      tenantId: row.tenant_id as TenantId,
      id: row.principal_id as PrincipalId,
      kind: 'anonymous',
      transient: false,
    };
    return principal;
  }

  async close(sessionId: string): Promise<boolean> {
    const result = await this.db
      .getRepository(McpSessionEntity)
      .delete({ idHash: sha256Hex(sessionId) });
    return (result.affected ?? 0) > 0;
  }
}

export class TypeOrmPrincipalStore extends PrincipalStore {
  private readonly db: DataSource;

  constructor(database: Database) {
    super();
    this.db = database.dataSource;
  }

  async createAnonymous(tenantId: TenantId): Promise<Principal> {
    const id = randomId('prn_', 22) as PrincipalId;
    await this.db.getRepository(PrincipalEntity).insert({ tenantId, id, kind: 'anonymous' });
    return { tenantId, id, kind: 'anonymous', transient: false };
  }
}
