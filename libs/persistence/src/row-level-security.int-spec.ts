import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelId, PrincipalId, TenantId } from '#core';
import { createTestDatabase } from '#test-support';
import type { Engine, TestDatabase } from '#test-support';
import { Database } from './database.js';
import { TENANT_TABLES } from './migrations/1763900000000-row-level-security.js';
import { TypeOrmChannelStore } from './typeorm-channel.store.js';

const acme = 'ten_acme' as TenantId;
const beta = 'ten_beta' as TenantId;

/**
 * Row-level security, the second guard of tenant isolation: even a statement that forgets its
 * WHERE clause sees only the current tenant's rows, on both engines, although the tests (and
 * PGlite) connect as a superuser.
 */
describe.each<Engine>(['postgres', 'pglite'])('row-level security on %s', (engine) => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase(engine);
    // One connection, so a setting that outlived its transaction would show in the next statement.
    database = await Database.open({ url: testDb.url, dataDir: testDb.dataDir, poolSize: 1 });
    await database.rows(`INSERT INTO tenants (id, name) VALUES ($1, 'Acme'), ($2, 'Beta')`, [
      acme,
      beta,
    ]);
    const store = new TypeOrmChannelStore(database);
    for (const [tenantId, id] of [
      [acme, 'chn_acme'],
      [beta, 'chn_beta'],
    ] as const) {
      await store.createChannel(tenantId, {
        id: id as ChannelId,
        name: id,
        createdBy: 'prn_x' as PrincipalId,
        slots: [],
        bots: [],
        messages: [],
        events: [],
      });
    }
  });

  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('enables and forces RLS on every tenant table, and the server does not bypass it', async () => {
    const tables = await database.rows<{ relname: string; on: boolean; forced: boolean }>(
      `SELECT relname, relrowsecurity AS on, relforcerowsecurity AS forced FROM pg_class
       WHERE relname = ANY($1) ORDER BY relname`,
      [[...TENANT_TABLES]],
    );
    expect(tables).toHaveLength(TENANT_TABLES.length);
    expect(tables.every((table) => table.on && table.forced)).toBe(true);
    const [me] = await database.rows<{ bypasses: boolean }>(
      'SELECT rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user',
    );
    expect(me?.bypasses).toBe(false);
  });

  it('shows a statement without WHERE only the current tenant’s rows', async () => {
    const all = 'SELECT tenant_id, id FROM channels ORDER BY id';
    expect(await database.tenantRows(acme, all)).toEqual([{ tenant_id: acme, id: 'chn_acme' }]);
    expect(await database.tenantRows(beta, all)).toEqual([{ tenant_id: beta, id: 'chn_beta' }]);
    // No tenant set: nothing at all.
    expect(await database.rows(all)).toEqual([]);
    // Maintenance reads across tenants.
    expect(await database.acrossTenants(all)).toHaveLength(2);
  });

  it('refuses writes into another tenant, and every write across tenants', async () => {
    const insert = `INSERT INTO channels (tenant_id, id, name, created_by) VALUES ($1, $2, 'x', 'p')`;
    await expect(database.tenantRows(acme, insert, [beta, 'chn_sneaky'])).rejects.toThrow(
      /row-level security/,
    );
    await expect(database.acrossTenants(insert, [beta, 'chn_sneaky'])).rejects.toThrow(
      /row-level security/,
    );
    const renamed = await database.tenantRows(
      acme,
      `UPDATE channels SET name = 'taken' WHERE id = 'chn_beta' RETURNING id`,
    );
    expect(renamed).toEqual([]);
    const deleted = await database.acrossTenants(`DELETE FROM channels RETURNING id`);
    expect(deleted).toEqual([]);
    expect(await database.acrossTenants('SELECT id FROM channels')).toHaveLength(2);
  });

  it('sets the tenant for its own transaction only, and reports errors as they are', async () => {
    const setting = "SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant";
    expect(await database.tenantRows(acme, setting)).toEqual([{ tenant: acme }]);
    expect(await database.rows(setting)).toEqual([{ tenant: '' }]);
    await expect(database.tenantRows(acme, 'SELECT * FROM no_such_table')).rejects.toThrow(
      /no_such_table/,
    );
    expect(await database.tenantRows(beta, setting)).toEqual([{ tenant: beta }]);
    expect(await database.rows(setting)).toEqual([{ tenant: '' }]);
  });

  it('accepts only plain tenant ids as the setting', async () => {
    await expect(
      database.tenantRows(`x', true); DROP TABLE channels; --`, 'SELECT 1'),
    ).rejects.toThrow(/invalid tenant id/);
  });
});
