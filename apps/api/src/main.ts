import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { keepAliveOnUnhandledRejection } from '#core';
import { DataDirInUseError, DataDirLock } from '#persistence';
import { startServer } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app.config.js';

keepAliveOnUnhandledRejection((message) => new Logger('Process').error(message));

try {
  const config = loadConfig(process.env);
  // A second server on the embedded database is refused with one sentence, not a stack trace.
  if (!config.databaseUrl) DataDirLock.check(config.dataDir);
  await startServer(config);
} catch (error) {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(error instanceof ConfigError ? 2 : 3);
  }
  throw error;
}
