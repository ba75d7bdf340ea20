import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';
import { queryForTenant } from './tenant-query.js';

export interface DatabaseOptions {
  /** PostgreSQL connection string; when absent, PGlite under `dataDir` is used. */
  readonly url?: string | undefined;
  /** Where PGlite keeps its files (the embedded default). */
  readonly dataDir: string;
  /** Connections in the pool (PostgreSQL only; PGlite serves one session). */
  readonly poolSize?: number;
}

/**
 * The database: a TypeORM data source over PostgreSQL, or over PGlite for the embedded default.
 * PGlite is reached through its socket server with the same `pg` driver, so both run the same
 * SQL, the same migrations and the same type parsing. Migrations run at open; the schema is
 * never synchronised from entities.
 */
export class Database {
  private constructor(
    readonly dataSource: DataSource,
    readonly engine: 'postgres' | 'pglite',
    private readonly release: () => Promise<void>,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    if (options.url) {
      const url = options.url;
      // Migrations run as the configured user; the pool then connects as a role that row-level
      // security holds, if that user is a superuser (which RLS never holds).
      const role = await migrateThenRole(dataSourceFor({ url }, 1));
      const dataSource = dataSourceFor({ url }, options.poolSize ?? 10, 10_000, role);
      return Database.initialise(dataSource, 'postgres', async () => {});
    }
    const dir = resolve(options.dataDir);
    mkdirSync(dir, { recursive: true });
    const pglite = await PGlite.create(join(dir, 'pglite'));
    // A unix socket in a private directory: no other local user can connect (mode 0700).
    const socketDir = mkdtempSync(join(tmpdir(), 'mp-pglite-'));
    const server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, '.s.PGSQL.5432') });
    await server.start();
    // One connection, kept open: PGlite serves a single session.
    const dataSource = dataSourceFor(
      { host: socketDir, port: 5432, username: 'postgres', database: 'postgres' },
      1,
      0,
    );
    return Database.initialise(dataSource, 'pglite', async () => {
      await server.stop();
      await pglite.close();
      rmSync(socketDir, { recursive: true, force: true });
    });
  }

  private static async initialise(
    dataSource: DataSource,
    engine: 'postgres' | 'pglite',
    release: () => Promise<void>,
  ): Promise<Database> {
    try {
      await dataSource.initialize();
      if (engine === 'pglite') {
        // PGlite is one session, its user a superuser: migrate, then take the held role for good.
        await dataSource.runMigrations({ transaction: 'each' });
        const role = await heldRole(dataSource);
        if (role) await dataSource.query(`SET ROLE ${role}`);
      }
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy();
      await release();
      throw error;
    }
    return new Database(dataSource, engine, release);
  }

  /**
   * Runs one statement outside a transaction straight on the `pg` pool and returns its rows: for
   * the tables that belong to no tenant (tenants, accounts, the OAuth tables). TypeORM's query
   * runner would add tens of microseconds of CPU to every call.
   */
  async rows<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(this.statement(sql, params));
    return result.rows as T[];
  }

  /**
   * Runs one statement for one tenant: in its own transaction, with `app.tenant_id` set for
   * row-level security, in one round trip (TenantQuery).
   */
  async tenantRows<T>(
    tenantId: string,
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<T[]> {
    checkTenantId(tenantId);
    const client = await this.pool.connect();
    try {
      return await queryForTenant<T>(client, tenantId, this.statement(sql, params));
    } finally {
      client.release();
    }
  }

  /** A TypeORM transaction for one tenant, with `app.tenant_id` set for row-level security. */
  tenantTransaction<T>(tenantId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
    checkTenantId(tenantId);
    return this.dataSource.transaction(async (em) => {
      await em.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
      return work(em);
    });
  }

  /**
   * Reads across tenants: maintenance only (resuming bots after a restart). Row-level security
   * lets such a transaction read every tenant's rows and write none.
   */
  acrossTenants<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.tenantRows<T>(ACROSS_TENANTS, sql, params);
  }

  private get pool(): pg.Pool {
    return (this.dataSource.driver as unknown as { master: pg.Pool }).master;
  }

  private statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
    // On PostgreSQL a named statement is parsed and planned once per connection, then only
    // executed: the hot statements are CTEs whose planning costs as much as running them. Not on
    // PGlite, where every socket connection shares one backend session, so a reconnect would find
    // the name already taken.
    return this.engine === 'postgres'
      ? { name: statementName(sql), text: sql, values: params as unknown[] }
      : { text: sql, values: params as unknown[] };
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.release();
  }
}

const statementNames = new Map<string, string>();

/** A stable name per SQL text (all statements here are constant text with parameters). */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `mp_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function dataSourceFor(
  connection: { url: string } | { host: string; port: number; username: string; database: string },
  poolSize: number,
  idleTimeoutMillis = 10_000,
  role: string | null = null,
): DataSource {
  return new DataSource({
    type: 'postgres',
    ...connection,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: false,
    extra: {
      max: poolSize,
      idleTimeoutMillis,
      ...(role ? { options: `-c role=${role}` } : {}),
    },
  });
}

/** The `app.tenant_id` value that lets a transaction read every tenant (and write none). */
const ACROSS_TENANTS = '*';

/** A tenant id is checked before it becomes a setting: a malformed one is a bug upstream. */
function checkTenantId(tenantId: string): void {
  if (tenantId !== ACROSS_TENANTS && !/^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) {
    throw new Error('invalid tenant id');
  }
}

/** The role the application runs as when it connects as a superuser (whom RLS never holds). */
const HELD_ROLE = 'mp_app';

/** Runs the migrations on a short-lived data source; returns the role the pool must take. */
async function migrateThenRole(migrator: DataSource): Promise<string | null> {
  await migrator.initialize();
  try {
    await migrator.runMigrations({ transaction: 'each' });
    return await heldRole(migrator);
  } finally {
    await migrator.destroy();
  }
}

/**
 * When the connected user bypasses row-level security (a superuser, as in tests and in PGlite),
 * makes sure a role exists that does not, with the data rights the application needs, and
 * returns its name; otherwise null (FORCE holds an ordinary owner already).
 */
async function heldRole(dataSource: DataSource): Promise<string | null> {
  const [me] = await dataSource.query<{ bypasses: boolean }[]>(
    'SELECT rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user',
  );
  if (!me?.bypasses) return null;
  await dataSource.query(`
    DO $$ BEGIN
      CREATE ROLE ${HELD_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
  await dataSource.query(`GRANT USAGE ON SCHEMA public TO ${HELD_ROLE}`);
  await dataSource.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${HELD_ROLE}`,
  );
  return HELD_ROLE;
}
