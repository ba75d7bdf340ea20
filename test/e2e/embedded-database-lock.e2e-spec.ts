import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiProcess, stopApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { freePort } from '../support/free-port.js';
import { serviceToken } from '../support/oauth.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a built entry point (the admin command, a second server) to its end, as an operator would. */
function runNode(script: string, args: string[], env: Record<string, string>): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', script, ...args], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The embedded database (PGlite in DATA_DIR) serves one process at a time (issue 12, item 3.1):
 * an admin command run while the server holds the directory used to write beside it, print a
 * client secret, and lose the client at the next restart. Now whoever opens the directory first
 * holds an operating-system lock on it until it closes it or dies.
 */
describe('the embedded database directory, held by one process at a time', () => {
  let database: TestDatabase;
  let api: ApiProcess | undefined;
  let port: number;

  const admin = (...args: string[]) =>
    runNode('dist/apps/api/src/admin.js', args, { DATA_DIR: database.dataDir });
  const startServer = async () => {
    api = await startApiProcess(port, `http://127.0.0.1:${port}`, database, {});
  };

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    port = await freePort();
    await startServer();
  });

  afterAll(async () => {
    await stopApiProcess(api);
    await database?.drop();
  });

  it('refuses the admin command while a server runs, says what to do, and changes nothing', async () => {
    const tenant = await admin('tenant', 'create', 'ten_locked', 'Locked');
    expect(tenant.code).toBe(3);
    expect(tenant.stdout).toBe('');
    expect(tenant.stderr).toContain(`The embedded database in ${database.dataDir} is in use`);
    expect(tenant.stderr).toContain(`(pid ${api?.child.pid})`);
    expect(tenant.stderr).toContain('Stop that process first');
    expect(tenant.stderr).toContain('DATABASE_URL');
    expect(tenant.stderr).toContain('Nothing was changed.');

    const client = await admin('client', 'create', 'ten_locked', 'script');
    expect(client.code).toBe(3);
    expect(client.stdout + client.stderr).not.toContain('client_secret');
  });

  it('refuses a second server on the same directory and leaves the first one serving', async () => {
    const second = await runNode('dist/apps/api/src/main.js', [], {
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      DATA_DIR: database.dataDir,
      AUTH_MODE: 'open',
    });
    expect(second.code).toBe(3);
    expect(second.stdout + second.stderr).toContain(
      `The embedded database in ${database.dataDir} is in use`,
    );
    // One sentence for the operator, not a stack trace.
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect((await fetch(`${api?.url}/readyz`)).status).toBe(200);
  });

  it('runs the admin command once the server has stopped, and the server keeps what it wrote', async () => {
    await stopApiProcess(api);
    // 'already exists' here would mean the refused command above wrote after all.
    const tenant = await admin('tenant', 'create', 'ten_locked', 'Locked');
    expect(tenant).toMatchObject({ code: 0, stdout: 'created tenant ten_locked (Locked)\n' });
    const client = await admin('client', 'create', 'ten_locked', 'script');
    expect(client.code).toBe(0);

    await startServer();
    const token = await serviceToken(api?.url ?? '', client.stdout);
    const channels = await fetch(`${api?.url}/api/v1/channels`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(channels.status).toBe(200);
  });

  it('is free again as soon as its holder is killed: a crash leaves no stale lock', async () => {
    const killed = api;
    killed?.child.kill('SIGKILL');
    await killed?.exited;
    // The killed server's note of its pid is still there; only the kernel's lock decides.
    expect(readFileSync(join(database.dataDir, 'pglite.owner'), 'utf8')).toBe(
      `${killed?.child.pid}\n`,
    );
    const tenant = await admin('tenant', 'create', 'ten_after_crash', 'After crash');
    expect(tenant).toMatchObject({
      code: 0,
      stdout: 'created tenant ten_after_crash (After crash)\n',
    });
    expect(existsSync(join(database.dataDir, 'pglite.owner'))).toBe(false);

    await startServer();
    expect((await fetch(`${api?.url}/readyz`)).status).toBe(200);
  });
});
