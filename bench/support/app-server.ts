// Child process entry: the API exactly as `npm start` builds it, over the database given in
// DATABASE_URL, with the settings of the environment (the parent sets the rate limits).
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../apps/api/src/bootstrap.js';
import { loadConfig } from '../../apps/api/src/config/app.config.js';
import { serveUntilStopped } from './server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'mp-bench-'));
const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir });
const app = await createApp(config);
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
serveUntilStopped(`http://127.0.0.1:${port}`, async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});
