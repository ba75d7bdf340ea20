import { startPostgres } from './postgres-server.js';

/**
 * Starts the servers of the integration and e2e tiers once per run, unless the environment names
 * its own (DATABASE_URL). Workers inherit the variables set here.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['TEST_DATABASE_URL'] || process.env['DATABASE_URL']) {
    process.env['TEST_DATABASE_URL'] ??= process.env['DATABASE_URL'];
    return;
  }
  const postgres = await startPostgres();
  process.env['TEST_DATABASE_URL'] = postgres.url;
  (globalThis as { __mpPostgres?: { stop(): void } }).__mpPostgres = postgres;
}
