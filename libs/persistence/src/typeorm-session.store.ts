import { randomUUID } from 'node:crypto';
import { randomId, sha256Hex } from '#core';
import type { PrincipalId, TenantId } from '#core';
import { PrincipalStore, SessionStore } from '#auth';
import type { Principal, PrincipalKind } from '#auth';
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
    const [row] = await this.database.rows<PrincipalRow>(
      `SELECT s.tenant_id, s.principal_id, p.kind FROM mcp_sessions s
       JOIN principals p ON p.tenant_id = s.tenant_id AND p.id = s.principal_id
       WHERE s.id_hash = $1`,
      [sha256Hex(sessionId)],
    );
    return row ? toPrincipal(row) : null;
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

  constructor(private readonly database: Database) {
    super();
    this.db = database.dataSource;
  }

  async create(tenantId: TenantId, kind: PrincipalKind): Promise<Principal> {
    const id = randomId('prn_', 22) as PrincipalId;
    await this.db.getRepository(PrincipalEntity).insert({ tenantId, id, kind });
    return { tenantId, id, kind };
  }

  async find(tenantId: TenantId, principalId: PrincipalId): Promise<Principal | null> {
    const [row] = await this.database.rows<PrincipalRow>(
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
