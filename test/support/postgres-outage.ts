import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunningPostgres } from './postgres-server.mjs';

/** How `pg_ctl stop` ends the server's sessions (PostgreSQL docs, "pg_ctl"). */
export type ShutdownMode = 'fast' | 'immediate';

/**
 * Stops and starts a PostgreSQL server that startPostgres() began, on the same port and data
 * directory: an outage as a database restart causes one. `fast` ends every session with 57P01
 * (admin_shutdown) and rolls back what was open; `immediate` kills the server without a
 * checkpoint, so the next start recovers from the WAL. Only for a server of the test's own:
 * the run's shared server serves every other test file.
 */
export class PostgresOutage {
  private readonly root: string;
  private readonly port: string;

  constructor(private readonly server: RunningPostgres) {
    this.root = dirname(server.dataDir);
    this.port = new URL(server.url).port;
  }

  stop(mode: ShutdownMode): void {
    this.pgCtl(['-D', this.server.dataDir, '-m', mode, '-w', 'stop']);
  }

  /** Starts the server again with the options startPostgres() gave it. */
  start(): void {
    this.pgCtl([
      '-D',
      this.server.dataDir,
      // A log file, or the server would hold pg_ctl's output pipe open and the call never return.
      '-l',
      join(this.root, 'postgres.log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
      'start',
    ]);
  }

  private pgCtl(args: string[]): void {
    const full = join(postgresBinDir(), 'pg_ctl');
    const result =
      process.getuid?.() === 0
        ? spawnSync('runuser', ['-u', 'postgres', '--', full, ...args], { encoding: 'utf8' })
        : spawnSync(full, args, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`pg_ctl failed: ${result.stderr || result.stdout || result.error?.message}`);
    }
  }
}

/** Where pg_ctl is, found as postgres-server.mjs finds it. */
function postgresBinDir(): string {
  const fromEnv = process.env['PG_BIN_DIR'];
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(base, version, 'bin');
      if (existsSync(join(dir, 'pg_ctl'))) return dir;
    }
  }
  return execFileSync('sh', ['-c', 'command -v pg_ctl || true'], { encoding: 'utf8' })
    .trim()
    .replace(/\/pg_ctl$/, '');
}
