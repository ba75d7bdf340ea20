import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { AccountService, AuthorizationService } from '#auth';
import { runAdmin } from '../../apps/api/src/admin/admin.command.js';
import { createApp } from '../../apps/api/src/bootstrap.js';
import { loadConfig } from '../../apps/api/src/config/app.config.js';
import { freePort } from './free-port.js';
import { createTestDatabase } from './test-database.js';
import type { Engine, TestDatabase } from './test-database.js';

/** A real API server on a free port, over a fresh database of one engine. */
export interface TestApp {
  readonly url: string;
  readonly database: TestDatabase;
  /** The running Nest application, to reach its services (admin commands, token signing). */
  readonly nest: INestApplication;
  /** Runs an admin command (README, "Tenants and accounts") against this server's database. */
  admin(args: string[], password?: string): Promise<string>;
  /** Stops the server and starts a new one on the same port and database, as a restart would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestApp(
  options: {
    engine?: Engine;
    env?: Record<string, string>;
    /** Another app's database, to run a second replica over it (left for its owner to drop). */
    database?: TestDatabase;
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase(options.engine ?? 'postgres'));
  const ownsDatabase = options.database === undefined;
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: database.dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'error',
    BOT_HOOK_TIMEOUT_MS: '1000',
    MESSAGE_RATE_PER_MINUTE: '100000',
    MESSAGE_RATE_BURST: '10000',
    OAUTH_RATE_PER_MINUTE: '100000',
    OAUTH_RATE_BURST: '10000',
    ...options.env,
  });
  let app: INestApplication | null = await listen(config);
  return {
    url: `http://127.0.0.1:${port}`,
    database,
    get nest() {
      if (!app) throw new Error('the test app is closed');
      return app;
    },
    async admin(args, password = '') {
      if (!app) throw new Error('the test app is closed');
      const services = {
        accounts: app.get(AccountService),
        authorization: app.get(AuthorizationService),
      };
      const result = await runAdmin(args, services, () => Promise.resolve(password));
      if (!result.ok) throw new Error(`admin ${args.join(' ')}: ${result.output}`);
      return result.output;
    },
    async restart() {
      await app?.close();
      app = await listen(config);
    },
    async close() {
      await app?.close();
      app = null;
      if (ownsDatabase) await database.drop();
    },
  };
}

async function listen(config: ReturnType<typeof loadConfig>): Promise<INestApplication> {
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  return app;
}
