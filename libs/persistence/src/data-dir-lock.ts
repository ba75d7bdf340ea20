import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** The lock itself: an empty SQLite file that one process holds an exclusive lock on. */
const LOCK_FILE = 'pglite.lock';
/** The holder's process id, for the refusal's message only; decisions never read it. */
const OWNER_FILE = 'pglite.owner';

/** SQLITE_BUSY: another connection holds the lock (https://sqlite.org/rescode.html#busy). */
const SQLITE_BUSY = 5;

/**
 * The embedded database directory is in use by another process (a running server, or an admin
 * command). Nothing was opened or changed.
 */
export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';

  constructor(
    readonly dataDir: string,
    readonly holderPid: number | null,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another process` +
        `${holderPid === null ? '' : ` (pid ${holderPid})`}, most likely a running server: ` +
        'PGlite serves one process at a time. Stop that process first, or use PostgreSQL ' +
        '(set DATABASE_URL) so that several processes can share the database.',
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * One process at a time in a PGlite data directory. PGlite keeps its pages in memory and writes
 * them back on its own schedule, so a second process on the same files works on a copy: what it
 * writes (a client created by the admin command while the server runs) is lost or corrupts the
 * directory. Whoever opens the directory first holds this lock until it closes the database.
 *
 * The lock is the operating system's, not a pid file: an exclusive SQLite transaction on
 * `pglite.lock`, which SQLite takes with fcntl() record locks (https://sqlite.org/lockingv3.html).
 * The kernel drops such locks when their process ends however it ends (SIGKILL, OOM kill, power
 * loss), so a crashed server leaves no stale lock, nothing needs a liveness check, and a reused
 * pid (pid 1 in every container) can never look like the holder. Within one process, SQLite
 * refuses a second connection too, so a second open in the same process is refused as well.
 *
 * POSIX drops a process's fcntl locks when it closes *any* descriptor of the file, so nothing but
 * this class may open `pglite.lock`; the holder's pid goes to a separate file for messages.
 */
export class DataDirLock {
  private constructor(
    private readonly connection: DatabaseSync,
    private readonly ownerFile: string,
  ) {}

  /** Takes the directory's lock, or throws DataDirInUseError if another holder has it. */
  static acquire(dataDir: string): DataDirLock {
    const connection = new DatabaseSync(join(dataDir, LOCK_FILE));
    try {
      // EXCLUSIVE locking mode keeps the lock for the connection's life; the transaction that
      // takes it is never ended. With no busy timeout, a held lock is reported at once.
      connection.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE');
    } catch (error) {
      connection.close();
      if (isBusy(error)) throw new DataDirInUseError(dataDir, holderPid(dataDir));
      throw error;
    }
    const ownerFile = join(dataDir, OWNER_FILE);
    writeFileSync(ownerFile, `${process.pid}\n`);
    return new DataDirLock(connection, ownerFile);
  }

  /**
   * Throws DataDirInUseError now if another process holds the directory, so a server can refuse
   * to start with that sentence before anything else; Database.open takes the lock for real.
   */
  static check(dataDir: string): void {
    if (existsSync(dataDir)) DataDirLock.acquire(dataDir).release();
  }

  /** Lets the directory go; call after the database in it is closed. */
  release(): void {
    // The note first: once the lock is free, the next holder writes its own.
    rmSync(this.ownerFile, { force: true });
    this.connection.close();
  }
}

/** SQLITE_BUSY or one of its extended codes (the primary code is the low byte). */
function isBusy(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return false;
  return typeof error.errcode === 'number' && (error.errcode & 0xff) === SQLITE_BUSY;
}

/** The pid the holder noted, if it could write it yet. */
function holderPid(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, OWNER_FILE), 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
