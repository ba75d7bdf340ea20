import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose rows belong to one tenant and are reached once the tenant is known. */
export const TENANT_TABLES = [
  'principals',
  'mcp_sessions',
  'channels',
  'slots',
  'bots',
  'messages',
  'channel_events',
  'oauth_consents',
] as const;

/**
 * Row-level security as the second guard of tenant isolation (REFERENCES "Multi-tenant
 * isolation"): ENABLE and FORCE (so the table owner is held too), one policy with USING and WITH
 * CHECK on `app.tenant_id`, which the application sets per transaction. Reading across tenants is
 * possible only with the setting `*`, which writes never accept; bot recovery alone uses it.
 *
 * Not under RLS, because they are read before any tenant is known and are found by a secret's
 * hash or a unique name: tenants, accounts (sign-in by username) and the OAuth tables.
 */
export class RowLevelSecurity1763900000000 implements MigrationInterface {
  name = 'RowLevelSecurity1763900000000';

  async up(db: QueryRunner): Promise<void> {
    for (const table of TENANT_TABLES) {
      await db.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      await db.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      await db.query(`
        CREATE POLICY tenant_isolation ON ${table}
        USING (tenant_id = current_setting('app.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('app.tenant_id', true))`);
      await db.query(`
        CREATE POLICY read_across_tenants ON ${table} FOR SELECT
        USING (current_setting('app.tenant_id', true) = '*')`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of TENANT_TABLES) {
      await db.query(`DROP POLICY IF EXISTS read_across_tenants ON ${table}`);
      await db.query(`DROP POLICY IF EXISTS tenant_isolation ON ${table}`);
      await db.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
      await db.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
    }
  }
}
