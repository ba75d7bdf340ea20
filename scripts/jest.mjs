// Starts Jest with the Node flags the project needs: ES modules (--experimental-vm-modules)
// and isolated-vm (--no-node-snapshot). Arguments pass through to Jest. At the end it prints one
// plain line, "tests: N passed, N failed[, N skipped]", which CI reads in any language.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
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
const report = '.tmp/jest-results.json';
mkdirSync('.tmp', { recursive: true });
rmSync(report, { force: true });
const result = spawnSync(
  process.execPath,
  // --forceExit: a test that fails mid-setup can leave a server open; CI must end anyway.
  [...flags, jest, '--json', `--outputFile=${report}`, '--forceExit', ...process.argv.slice(2)],
  { stdio: 'inherit', env },
);
try {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(
    readFileSync(report, 'utf8'),
  );
  const skipped = numPendingTests + numTodoTests;
  console.log(
    `tests: ${numPassedTests} passed, ${numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
} catch {
  // No report (Jest failed before running anything): its own output and exit code say why.
}
process.exit(result.status ?? 1);
