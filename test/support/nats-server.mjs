// A real NATS server with JetStream for a test run: Debian's nats-server (which .ci/run installs),
// on a free loopback port, storing into a temp directory (DESIGN §2). It runs in operator (JWT)
// mode, as production does: the API connects with its own credentials and mints per-bot runner
// credentials with the account key, and the server enforces each user's permissions.
// TEST_NATS_LISTEN=0.0.0.0 (test/k8s, inside the cluster's network namespace) makes it listen on
// every address, so runner pods reach it at the node's address; the tests still use 127.0.0.1.
// Plain JavaScript: Jest loads global setup files without the project's transforms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
} from '@nats-io/jwt';
import { encodeUser, fmtCreds } from '@nats-io/jwt';
import { freePort } from './postgres-server.mjs';

/**
 * @returns {Promise<{ url: string, credsFile: string, signingKeyFile: string,
 *   kill(): void, start(): Promise<void>, stop(): void }>}
 */
export async function startNats() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mp-nats-'));
  const files = await writeOperatorConfig(dir, process.env.TEST_NATS_LISTEN || '127.0.0.1', port);
  let child = null;
  const server = {
    url: `nats://127.0.0.1:${port}`,
    credsFile: files.credsFile,
    signingKeyFile: files.signingKeyFile,
    /** Kills the server at once (a crash); the store stays for the next start. */
    kill() {
      child?.kill('SIGKILL');
      child = null;
    },
    async start() {
      child = spawn('nats-server', ['-c', files.configFile], { stdio: 'ignore' });
      const exited = new Promise((_, reject) =>
        child.once('exit', (code) => reject(new Error(`nats-server exited with code ${code}`))),
      );
      child.once('error', () => {});
      await Promise.race([waitForPort(port), exited]);
    },
    stop() {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** An operator, a system account and the application account with JetStream, preloaded. */
async function writeOperatorConfig(dir, host, port) {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const unlimited = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount(
    'MP',
    account,
    { limits: { ...unlimited, subs: -1, data: -1, payload: -1, conn: -1 } },
    { signer: operator },
  );
  const api = createUser();
  const apiJwt = await encodeUser('mp-api', api, account);
  const configFile = join(dir, 'nats.conf');
  const credsFile = join(dir, 'api.creds');
  const signingKeyFile = join(dir, 'account.nk');
  writeFileSync(join(dir, 'operator.jwt'), await encodeOperator('MP-TEST', operator));
  writeFileSync(credsFile, fmtCreds(apiJwt, api), { mode: 0o600 });
  writeFileSync(signingKeyFile, Buffer.from(account.getSeed()).toString(), { mode: 0o600 });
  writeFileSync(
    configFile,
    [
      `listen: ${host}:${port}`,
      `jetstream { store_dir: "${join(dir, 'store')}" }`,
      `operator: "${join(dir, 'operator.jwt')}"`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      'resolver_preload: {',
      `  ${system.getPublicKey()}: "${systemJwt}"`,
      `  ${account.getPublicKey()}: "${accountJwt}"`,
      '}',
    ].join('\n'),
  );
  return { configFile, credsFile, signingKeyFile };
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
