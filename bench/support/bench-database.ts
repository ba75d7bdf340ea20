import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adminQuery } from '../../test/support/test-database.js';

/** A fresh, empty PostgreSQL database for one benchmark, and how to throw it away. */
export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

interface PostgresServer {
  readonly url: string;
  stop(): void;
}

/**
 * A new database on the server at DATABASE_URL, or on a PostgreSQL started for this benchmark
 * from the machine's binaries (the same launcher the integration tests use, so both run with
 * the same settings: fsync off, 300 connections).
 */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const given = process.env['DATABASE_URL'];
  const server: PostgresServer | null = given ? null : await startPostgres();
  const serverUrl = given ?? server?.url ?? '';
  const name = `mp_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        server?.stop();
      }
    },
  };
}

/**
 * test/support/postgres-server.mjs is plain JavaScript outside the bench build, so it is loaded
 * by path at run time (from bench/support or dist/bench/support alike) rather than compiled in.
 * pg_ctl starts PostgreSQL as a daemon that would outlive a crashed or interrupted benchmark, so
 * it is also stopped on the way out (`stop` is synchronous, so an `exit` handler can run it).
 */
async function startPostgres(): Promise<PostgresServer> {
  const launcher = findUp('test/support/postgres-server.mjs');
  const module = (await import(pathToFileURL(launcher).href)) as {
    startPostgres(): Promise<PostgresServer>;
  };
  const server = await module.startPostgres();
  let stopped = false;
  const stopOnce = () => {
    if (stopped) return;
    stopped = true;
    server.stop();
  };
  process.once('exit', stopOnce);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  return { url: server.url, stop: stopOnce };
}

function findUp(relative: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${relative} not found above ${import.meta.url}`);
  }
}
