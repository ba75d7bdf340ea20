import Query from 'pg/lib/query.js';
import type pg from 'pg';

/** The statement that sets the tenant for the rest of the transaction. */
const SET_TENANT = "SELECT set_config('app.tenant_id', $1, true)";

/** Its name as a prepared statement, where statements are prepared (PostgreSQL, not PGlite). */
const SET_TENANT_NAME = 'mp_set_tenant';

interface PipelineConnection {
  /** node-postgres's record of the statements prepared on this connection. */
  parsedStatements: Record<string, string | undefined>;
  parse(options: { text: string; name: string; types: unknown[] }): void;
  bind(options: { portal: string; statement: string; values: unknown[] }): void;
  execute(options: { portal: string; rows: number }): void;
}

/**
 * One statement run for one tenant in one round trip. The extended query protocol runs every
 * message up to Sync in one implicit transaction, so the tenant is set first (`set_config` with
 * is_local, i.e. for this transaction only, as row-level security wants) and the statement follows
 * in the same write. Without this, each statement would need BEGIN, the setting and COMMIT: three
 * round trips instead of one.
 *
 * It extends node-postgres's own Query (the extension points pg-cursor uses too): the tenant
 * statement goes out before the query's own messages, and its row and completion are consumed
 * here, so the caller sees only the statement's result.
 */
export class TenantQuery extends Query {
  private settingTenant = true;

  constructor(
    private readonly tenantId: string,
    config: pg.QueryConfig,
    /** Whether to prepare the tenant statement once per connection (as the statement is). */
    private readonly prepared: boolean,
    callback: (error: Error | null, result: pg.QueryResult) => void,
  ) {
    super({ ...config, queryMode: 'extended' }, undefined, callback);
  }

  override prepare(connection: PipelineConnection): void {
    const name = this.prepared ? SET_TENANT_NAME : '';
    if (!name || connection.parsedStatements[name] === undefined) {
      connection.parse({ text: SET_TENANT, name, types: [] });
      if (name) connection.parsedStatements[name] = SET_TENANT;
    }
    connection.bind({ portal: '', statement: name, values: [this.tenantId] });
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
  }

  override handleDataRow(message: unknown): void {
    if (!this.settingTenant) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: unknown): void {
    if (this.settingTenant) {
      this.settingTenant = false;
      return;
    }
    super.handleCommandComplete(message, connection);
  }
}

/** Runs a statement for a tenant on a pooled client, in one round trip. */
export function queryForTenant<T>(
  client: pg.PoolClient,
  tenantId: string,
  config: pg.QueryConfig,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    client.query(
      new TenantQuery(tenantId, config, config.name !== undefined, (error, result) => {
        if (error) reject(error);
        else resolve(result.rows as T[]);
      }),
    );
  });
}
