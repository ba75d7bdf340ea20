// Starts the servers of the integration and e2e tiers once per run, unless the environment names
// its own (TEST_DATABASE_URL or DATABASE_URL). Test workers inherit the variables set here.
import { startPostgres } from './postgres-server.mjs';

export default async function globalSetup() {
  if (process.env.TEST_DATABASE_URL || process.env.DATABASE_URL) {
    process.env.TEST_DATABASE_URL ??= process.env.DATABASE_URL;
    return;
  }
  const postgres = await startPostgres();
  process.env.TEST_DATABASE_URL = postgres.url;
  globalThis.__mpPostgres = postgres;
}
