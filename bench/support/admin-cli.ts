import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs the admin command as `npm run admin` does (README, "Tenants and accounts"), against the
 * database at `databaseUrl`, from the same build as the benchmark (dist/apps/api/src/admin.js),
 * and returns what it printed. A failed command rejects with its output.
 */
export async function runAdminCommand(databaseUrl: string, args: string[]): Promise<string> {
  const admin = fileURLToPath(new URL('../../apps/api/src/admin.js', import.meta.url));
  const dataDir = mkdtempSync(join(tmpdir(), 'mp-bench-admin-'));
  try {
    const { stdout } = await run(process.execPath, ['--no-node-snapshot', admin, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    });
    return stdout;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
