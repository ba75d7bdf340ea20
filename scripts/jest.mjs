// Starts Jest with the Node flags the project needs: ES modules (--experimental-vm-modules)
// and isolated-vm (--no-node-snapshot). Arguments pass through to Jest.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jest = require.resolve('jest/bin/jest');
const flags = [
  '--experimental-vm-modules',
  '--no-node-snapshot',
  '--no-warnings=ExperimentalWarning',
];
const env = {
  ...process.env,
  NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...flags].join(' ').trim(),
};
const result = spawnSync(process.execPath, [...flags, jest, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
