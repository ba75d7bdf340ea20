// Child process entry: the API exactly as `npm start` builds it, over the database given in
// DATABASE_URL, with the settings of the environment (the parent sets the rate limits).
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../apps/api/src/bootstrap.js';
import { loadConfig } from '../../apps/api/src/config/app.config.js';
import { freePort } from '../../test/support/free-port.js';
import { serveUntilStopped } from './server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'mp-bench-'));
// The port is chosen first: the public URL is the resource access tokens are bound to.
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const config = loadConfig({
  ...process.env,
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_URL: url,
  DATA_DIR: dataDir,
});
const app = await createApp(config);
await app.listen(port, '127.0.0.1');
serveUntilStopped(url, async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});
