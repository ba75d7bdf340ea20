import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from '#test-support';
import type { TestDatabase } from '#test-support';
import { DatabaseUnavailableError } from './connection-loss.js';
import { Database } from './database.js';

/**
 * The server ending the API's connections, as a restart does (`pg_terminate_backend` sends the
 * same FATAL 57P01 admin_shutdown that `pg_ctl stop -m fast` sends every session): the call in
 * flight fails with the retryable UNAVAILABLE error, nothing ends the process (an unhandled
 * `error` event would fail this file), the loss is logged once, and the next calls run on new
 * connections without anyone reopening the database.
 */
describe('a database whose connections the server ends', () => {
  let testDb: TestDatabase;
  let database: Database;
  let admin: pg.Client;
  const warnings: string[] = [];
  const notes: string[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await Database.open({
      url: testDb.url,
      dataDir: testDb.dataDir,
      poolSize: 3,
      logger: { warn: (m) => warnings.push(m), log: (m) => notes.push(m) },
    });
    admin = new pg.Client({ connectionString: testDb.url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await database?.close();
    await testDb?.drop();
  });

  /** Ends every connection to the test database but the admin's own; returns how many. */
  async function terminateOthers(): Promise<number> {
    const result = await admin.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    return result.rows.length;
  }

  /** Waits until a statement mentioning `marker` runs on the server, then ends its session. */
  async function terminateWhenRunning(marker: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const running = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      if (running.rows.length > 0) {
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`,
          [`%${marker}%`],
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${marker} to run`);
  }

  const calls: [string, (db: Database, marker: string) => Promise<unknown>][] = [
    ['a pooled statement', (db, marker) => db.rows(`SELECT pg_sleep(60), '${marker}'`)],
    [
      'a tenant statement',
      (db, marker) => db.tenantRows('ten_a', `SELECT pg_sleep(60), '${marker}'`),
    ],
    [
      'a tenant transaction',
      (db, marker) =>
        db.tenantTransaction('ten_a', (em) => em.query(`SELECT pg_sleep(60), '${marker}'`)),
    ],
  ];

  it.each(calls)('fails %s in flight with UNAVAILABLE, then serves the next', async (_, call) => {
    const marker = `mp_marker_${Math.random().toString(36).slice(2)}`;
    const inFlight = call(database, marker);
    await terminateWhenRunning(marker);
    const failure = await inFlight.then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DatabaseUnavailableError);
    expect((failure as Error).message).not.toContain(marker);
    expect(await database.rows('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await database.acrossTenants('SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });

  it('survives the loss of its idle connections, logs it once, and reconnects by itself', async () => {
    warnings.length = 0;
    notes.length = 0;
    // Three connections open and idle in the pool.
    await Promise.all([0, 1, 2].map(() => database.tenantRows('ten_a', 'SELECT pg_sleep(0.2)')));
    expect(await terminateOthers()).toBeGreaterThan(1);
    for (let i = 0; i < 600 && warnings.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^database connection lost \(57P01: terminating connection/);
    // Every idle connection hears of it; give the others a moment to be discarded too.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const answers = await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        database.tenantRows<{ n: number }>('ten_a', 'SELECT $1::int AS n', [n]),
      ),
    );
    expect(answers.map(([row]) => row?.n)).toEqual([0, 1, 2, 3, 4]);
    expect(warnings).toHaveLength(1);
    expect(notes).toEqual(['database reachable again']);
  });

  it('leaves a failing statement’s own error as it is', async () => {
    await expect(database.rows('SELECT * FROM no_such_table')).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(database.tenantRows('ten_a', 'SELECT 1 / 0 AS nope')).rejects.toMatchObject({
      code: '22012',
    });
  });
});
