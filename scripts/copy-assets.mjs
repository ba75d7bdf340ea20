// Copies files the compiled code reads at run time (bot preset sources) next to it in dist/.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const presets = 'libs/bots/src/presets';
for (const file of readdirSync(presets).filter((name) => name.endsWith('.bot.js'))) {
  cpSync(join(presets, file), join('dist', presets, file));
}
