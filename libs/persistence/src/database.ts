import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import {
  DatabaseUnavailableError,
  describeDatabaseError,
  isConnectionLoss,
} from './connection-loss.js';
import { DataDirLock } from './data-dir-lock.js';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';
import { queryForTenant } from './tenant-query.js';

export interface DatabaseOptions {
  /** PostgreSQL connection string; when absent, PGlite under `dataDir` is used. */
  readonly url?: string | undefined;
  /** Where PGlite keeps its files (the embedded default); one process at a time (DataDirLock). */
  readonly dataDir: string;
  /** Connections in the pool (PostgreSQL only; PGlite serves one session). */
  readonly poolSize?: number;
  /** Where a lost connection is reported (once per outage); the console when absent. */
  readonly logger?: DatabaseLogger;
}

export interface DatabaseLogger {
  warn(message: string): void;
  log(message: string): void;
}

const consoleLogger: DatabaseLogger = {
  warn: (message) => console.warn(`[Database] ${message}`),
  log: (message) => console.log(`[Database] ${message}`),
};

/**
 * The database: a TypeORM data source over PostgreSQL, or over PGlite for the embedded default.
 * PGlite is reached through its socket server with the same `pg` driver, so both run the same
 * SQL, the same migrations and the same type parsing. Migrations run at open; the schema is
 * never synchronised from entities.
 *
 * A lost connection (the server restarts) never ends the process: the pool's and every
 * checked-out client's `error` events are handled, a call that meets the loss fails with
 * DatabaseUnavailableError (its transaction rolled back by the server), and the pool opens new
 * connections on the next call, so service resumes by itself when the server is back.
 */
export class Database {
  private constructor(
    readonly dataSource: DataSource,
    readonly engine: 'postgres' | 'pglite',
    private readonly release: () => Promise<void>,
    private readonly reachability: Reachability,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    const reachability = new Reachability(options.logger ?? consoleLogger);
    if (options.url) {
      const url = options.url;
      const postgres = { url, reachability };
      // Migrations run as the configured user; the pool then connects as a role that row-level
      // security holds, if that user is a superuser (which RLS never holds).
      const role = await migrateThenRole(dataSourceFor(postgres, 1));
      const dataSource = dataSourceFor(postgres, options.poolSize ?? 10, 10_000, role);
      return Database.initialise(dataSource, 'postgres', async () => {}, reachability);
    }
    const dir = resolve(options.dataDir);
    mkdirSync(dir, { recursive: true });
    // One process at a time: a second one would write to its own copy of the pages and lose it.
    const lock = DataDirLock.acquire(dir);
    let embedded: EmbeddedServer;
    try {
      embedded = await serveEmbedded(join(dir, 'pglite'));
    } catch (error) {
      lock.release();
      throw error;
    }
    // One connection, kept open: PGlite serves a single session.
    const dataSource = dataSourceFor(
      {
        host: embedded.socketDir,
        port: 5432,
        username: 'postgres',
        database: 'postgres',
        reachability,
      },
      1,
      0,
    );
    return Database.initialise(
      dataSource,
      'pglite',
      async () => {
        await embedded.stop();
        lock.release();
      },
      reachability,
    );
  }

  private static async initialise(
    dataSource: DataSource,
    engine: 'postgres' | 'pglite',
    release: () => Promise<void>,
    reachability: Reachability,
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
    return new Database(dataSource, engine, release, reachability);
  }

  /**
   * Runs one statement outside a transaction straight on the `pg` pool and returns its rows: for
   * the tables that belong to no tenant (tenants, accounts, the OAuth tables). TypeORM's query
   * runner would add tens of microseconds of CPU to every call.
   */
  async rows<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      // pg-pool's query() listens for its client's errors and discards a client that failed.
      const result = await this.pool.query(this.statement(sql, params));
      this.reachability.reached();
      return result.rows as T[];
    } catch (error) {
      throw this.failure(error);
    }
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
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.failure(error);
    }
    // pg-pool listens for errors on idle clients only: a checked-out client whose connection is
    // lost emits `error`, which with no listener would end the process. The query fails as well,
    // and the client goes back marked as broken, so the pool discards it.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      const rows = await queryForTenant<T>(client, tenantId, this.statement(sql, params));
      this.reachability.reached();
      return rows;
    } catch (error) {
      if (isConnectionLoss(error)) broken ??= error as Error;
      throw this.failure(error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** A TypeORM transaction for one tenant, with `app.tenant_id` set for row-level security. */
  tenantTransaction<T>(tenantId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
    checkTenantId(tenantId);
    // TypeORM's query runner listens for its client's errors and discards a broken client.
    return this.dataSource
      .transaction(async (em) => {
        await em.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
        return work(em);
      })
      .then(
        (result) => {
          this.reachability.reached();
          return result;
        },
        (error: unknown) => {
          throw this.failure(error);
        },
      );
  }

  /**
   * Reads across tenants: maintenance only (resuming bots after a restart). Row-level security
   * lets such a transaction read every tenant's rows and write none.
   */
  acrossTenants<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.tenantRows<T>(ACROSS_TENANTS, sql, params);
  }

  /** A lost connection as the caller's retryable error; anything else as it is. */
  private failure(error: unknown): unknown {
    if (!isConnectionLoss(error)) return error;
    this.reachability.lost(error);
    return new DatabaseUnavailableError();
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

interface EmbeddedServer {
  /** Where the socket is: the `host` for the `pg` driver. */
  readonly socketDir: string;
  stop(): Promise<void>;
}

/**
 * PGlite over its socket server, on a unix socket in a private directory: no other local user
 * can connect (mode 0700).
 */
async function serveEmbedded(pgliteDir: string): Promise<EmbeddedServer> {
  const pglite = await PGlite.create(pgliteDir);
  const socketDir = mkdtempSync(join(tmpdir(), 'mp-pglite-'));
  const server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, '.s.PGSQL.5432') });
  const closeRest = async () => {
    await pglite.close();
    rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    await server.start();
  } catch (error) {
    await closeRest();
    throw error;
  }
  return {
    socketDir,
    stop: async () => {
      await server.stop();
      await closeRest();
    },
  };
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

/**
 * Whether the database answers, as the last call found it: a lost connection is logged once per
 * outage (every pooled connection reports it, a call that meets it too), and its end once.
 */
class Reachability {
  private down = false;

  constructor(private readonly logger: DatabaseLogger) {}

  lost(error: unknown): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(
      `database connection lost (${describeDatabaseError(error)}); calls answer UNAVAILABLE until it is back`,
    );
  }

  reached(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log('database reachable again');
  }

  /** The pool's `error` event: an idle client's connection failed (it is discarded already). */
  readonly onPoolError = (error: unknown): void => {
    if (isConnectionLoss(error)) this.lost(error);
    else this.logger.warn(`idle database connection failed (${describeDatabaseError(error)})`);
  };
}

function dataSourceFor(
  connection: (
    { url: string } | { host: string; port: number; username: string; database: string }
  ) & {
    reachability: Reachability;
  },
  poolSize: number,
  idleTimeoutMillis = 10_000,
  role: string | null = null,
): DataSource {
  const { reachability, ...target } = connection;
  const overTcp = 'url' in target;
  return new DataSource({
    type: 'postgres',
    ...target,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: false,
    // Without a listener, an idle client's error (the server restarting) would end the process.
    poolErrorHandler: reachability.onPoolError,
    extra: {
      max: poolSize,
      idleTimeoutMillis,
      ...(overTcp
        ? {
            // A server that cannot be reached answers within this (a refused connection at once):
            // a call fails UNAVAILABLE instead of waiting on a dead address for the OS's timeout.
            connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
            // Notices a peer that vanished without closing (a failover) on idle connections.
            keepAlive: true,
          }
        : {}),
      ...(role ? { options: `-c role=${role}` } : {}),
    },
  });
}

/** How long getting a connection may take, waiting for a free one in the pool included. */
const CONNECT_TIMEOUT_MS = 10_000;

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
