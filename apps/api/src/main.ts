import 'reflect-metadata';
import { startServer } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app.config.js';

try {
  await startServer(loadConfig(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
