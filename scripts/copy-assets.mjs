// Copies files the compiled code reads at run time next to it in dist/: bot preset sources, and
// the plain-JavaScript test helpers the compiled benchmarks import.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

for (const [dir, suffix] of [
  ['libs/bots/src/presets', '.bot.js'],
  ['test/support', '.mjs'],
]) {
  for (const file of readdirSync(dir).filter((name) => name.endsWith(suffix))) {
    cpSync(join(dir, file), join('dist', dir, file));
  }
}
