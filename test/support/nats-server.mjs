// A real NATS server with JetStream for a test run: Debian's nats-server (which .ci/run installs),
// on a free loopback port, storing into a temp directory (DESIGN §2).
// Plain JavaScript: Jest loads global setup files without the project's transforms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres-server.mjs';

/** @returns {Promise<{ url: string, stop(): void }>} */
export async function startNats() {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'mp-nats-'));
  const child = spawn(
    'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
    { stdio: 'ignore' },
  );
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) => reject(new Error(`nats-server exited with code ${code}`))),
  );
  child.once('error', () => {});
  await Promise.race([waitForPort(port), exited]);
  return {
    url: `nats://127.0.0.1:${port}`,
    stop() {
      child.kill('SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}
