// Builds the benchmarks with the code they measure into dist/ (same layout as `npm run build`, so
// the package's `#…` imports resolve to dist/libs) and runs each one in a fresh Node process.
// Usage: npm run bench [-- name-filter]   e.g. `npm run bench -- isolate`
// The build is a full one on purpose: other tools (`nest build`) delete dist/, and an incremental
// build whose .tsbuildinfo survived would then skip emitting the files the benchmarks need.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const filter = process.argv[2] ?? '';

const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;

if (run([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json']) !== 0) {
  console.error(
    'bench: the build failed; benchmarks of code that does not compile measure nothing.',
  );
  process.exit(1);
}
if (run(['scripts/copy-assets.mjs']) !== 0) process.exit(1);

const benches = readdirSync('dist/bench')
  .filter((file) => file.endsWith('.bench.js') && file.includes(filter))
  .sort();
if (benches.length === 0) {
  console.error(`bench: no benchmark matches "${filter}"`);
  process.exit(1);
}

// isolated-vm needs --no-node-snapshot in every process that loads it.
const flags = ['--no-node-snapshot', '--enable-source-maps'];
const failed = benches.filter((file) => run([...flags, `dist/bench/${file}`]) !== 0);
if (failed.length > 0) {
  console.error(`\nbench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
