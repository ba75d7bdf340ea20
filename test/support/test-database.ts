import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type Engine = 'postgres' | 'pglite';

/** Settings for a fresh, empty database of one engine, and how to drop it afterwards. */
export interface TestDatabase {
  readonly engine: Engine;
  readonly url: string | undefined;
  readonly dataDir: string;
  drop(): Promise<void>;
}

/**
 * A new database per test file: on the run's PostgreSQL server (TEST_DATABASE_URL, started by
 * the global setup) or a PGlite directory of its own.
 */
export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mp-test-'));
  if (engine === 'pglite') {
    return {
      engine,
      url: undefined,
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const serverUrl = process.env['TEST_DATABASE_URL'];
  if (!serverUrl)
    throw new Error(
      'TEST_DATABASE_URL is not set: run through the integration or e2e Jest project',
    );
  const name = `mp_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    engine,
    url: url.toString(),
    dataDir,
    drop: async () => {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement on its own connection, e.g. CREATE DATABASE (which cannot run in a pool's transaction). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
