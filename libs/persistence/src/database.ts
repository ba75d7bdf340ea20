import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';

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
      const dataSource = dataSourceFor({ url: options.url }, options.poolSize ?? 10);
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
      await dataSource.runMigrations({ transaction: 'each' });
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy();
      await release();
      throw error;
    }
    return new Database(dataSource, engine, release);
  }

  /**
   * Runs one statement outside a transaction straight on the `pg` pool and returns its rows. The
   * hot paths use this: TypeORM's query runner adds tens of microseconds of CPU to every call.
   */
  async rows<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master: pg.Pool }).master;
    // On PostgreSQL a named statement is parsed and planned once per connection, then only
    // executed: the hot statements are CTEs whose planning costs as much as running them. Not on
    // PGlite, where every socket connection shares one backend session, so a reconnect would find
    // the name already taken.
    const query =
      this.engine === 'postgres'
        ? { name: statementName(sql), text: sql, values: params as unknown[] }
        : { text: sql, values: params as unknown[] };
    const result = await pool.query(query);
    return result.rows as T[];
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
): DataSource {
  return new DataSource({
    type: 'postgres',
    ...connection,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: false,
    extra: { max: poolSize, idleTimeoutMillis },
  });
}
