import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';
import type { TestDatabase } from './test-database.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** An API server as its own OS process, from the build (the Jest global setup builds dist/). */
export interface ApiProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Its last lines of output, for a failure's message. */
  readonly output: string[];
  readonly exited: Promise<void>;
}

export async function startApiProcess(
  port: number,
  publicUrl: string,
  database: TestDatabase,
  env: Record<string, string>,
): Promise<ApiProcess> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--no-node-snapshot', 'dist/apps/api/src/main.js'], {
    cwd: REPO,
    // Not the Jest process's environment: its NODE_OPTIONS and test settings are not the server's.
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: publicUrl,
      DATABASE_URL: database.url ?? '',
      DATA_DIR: database.dataDir,
      AUTH_MODE: 'open',
      LOG_LEVEL: 'error',
      MESSAGE_RATE_PER_MINUTE: '100000',
      MESSAGE_RATE_BURST: '10000',
      OAUTH_RATE_PER_MINUTE: '100000',
      OAUTH_RATE_BURST: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n'));
    output.splice(0, output.length - 20);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
  const ready = async () => {
    if (gone) throw new Error(`the API on ${port} exited:\n${output.join('\n')}`);
    return (await fetch(`${url}/readyz`).catch(() => null))?.status === 200;
  };
  await eventually(ready, `the API process on ${port} to be ready`, 30_000);
  return { url, child, output, exited };
}

export async function stopApiProcess(api: ApiProcess | undefined): Promise<void> {
  if (!api || api.child.exitCode !== null || api.child.signalCode !== null) return;
  api.child.kill('SIGTERM');
  const timer = setTimeout(() => api.child.kill('SIGKILL'), 5_000);
  await api.exited;
  clearTimeout(timer);
}
