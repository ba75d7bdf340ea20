import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { AccessTokens, AccountService, AuthorizationService, PasswordHasher } from '#auth';
import {
  DataDirInUseError,
  Database,
  TypeOrmAccountStore,
  TypeOrmOAuthStore,
  TypeOrmPrincipalStore,
} from '#persistence';
import { runAdmin } from './admin/admin.command.js';
import { ConfigError, loadConfig } from './config/app.config.js';
import { accessTokenSettings, authorizationSettings } from './oauth/oauth.settings.js';

/**
 * The admin CLI: the same configuration and database as the server (README, "Tenants"). Exit
 * codes: 0 done, 1 the command failed (the output says why), 2 a bad setting, 3 the embedded
 * database is in use by another process (a running server) and nothing was changed.
 */
async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const database = await Database.open({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 1,
  });
  try {
    const store = new TypeOrmOAuthStore(database);
    const principals = new TypeOrmPrincipalStore(database);
    const tokens = new AccessTokens(store, accessTokenSettings(config));
    const authorization = new AuthorizationService(
      store,
      principals,
      tokens,
      authorizationSettings(config),
    );
    const accounts = new AccountService(new TypeOrmAccountStore(database), new PasswordHasher());
    const result = await runAdmin(process.argv.slice(2), { accounts, authorization }, readLine);
    (result.ok ? process.stdout : process.stderr).write(`${result.output}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await database.close();
  }
}

/** The first line of stdin: the password, piped in so it never appears in the process list. */
async function readLine(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof DataDirInUseError) {
    // A running server holds the embedded database: writing beside it would be lost (issue 12).
    process.stderr.write(
      `${error.message}\nNothing was changed. With the embedded database, stop the server, ` +
        'run the admin command, then start the server again.\n',
    );
    process.exitCode = 3;
  } else {
    throw error;
  }
}
