import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { keepAliveOnUnhandledRejection } from '#core';
import { startServer } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app.config.js';

keepAliveOnUnhandledRejection((message) => new Logger('Process').error(message));

try {
  await startServer(loadConfig(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
