// Starts the servers of the integration and e2e tiers once per run, unless the environment names
// its own (TEST_DATABASE_URL or DATABASE_URL; TEST_NATS_URL or NATS_URL, with NATS_CREDS_FILE and
// NATS_RUNNER_SIGNING_KEY_FILE for an operator-mode server). Test workers inherit the variables set here.
import { execFileSync } from 'node:child_process';
import { startNats } from './nats-server.mjs';
import { startPostgres } from './postgres-server.mjs';

export default async function globalSetup() {
  // The process launcher's tests start the built bot runner (dist/apps/bot-runner), and some tests
  // the built server.
  // TEST_SKIP_BUILD=1 keeps the dist/ there is, for a run of tests that start no runner.
  if (!process.env.TEST_SKIP_BUILD) {
    execFileSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
      { stdio: 'inherit' },
    );
    // What the built code reads at run time (the preset bots' sources), as `npm run build` does:
    // the scripts run after the tests (conformance, schemathesis) start this dist/ as it is.
    execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { stdio: 'inherit' });
  }
  if (process.env.TEST_DATABASE_URL || process.env.DATABASE_URL) {
    process.env.TEST_DATABASE_URL ??= process.env.DATABASE_URL;
  } else {
    const postgres = await startPostgres();
    process.env.TEST_DATABASE_URL = postgres.url;
    globalThis.__mpPostgres = postgres;
  }
  if (process.env.TEST_NATS_URL || process.env.NATS_URL) {
    process.env.TEST_NATS_URL ??= process.env.NATS_URL;
    process.env.TEST_NATS_CREDS_FILE ??= process.env.NATS_CREDS_FILE;
    process.env.TEST_NATS_SIGNING_KEY_FILE ??= process.env.NATS_RUNNER_SIGNING_KEY_FILE;
  } else {
    const nats = await startNats();
    process.env.TEST_NATS_URL = nats.url;
    process.env.TEST_NATS_CREDS_FILE = nats.credsFile;
    process.env.TEST_NATS_SIGNING_KEY_FILE = nats.signingKeyFile;
    globalThis.__mpNats = nats;
  }
}
