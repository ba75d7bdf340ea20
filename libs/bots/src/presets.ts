import { readFileSync } from 'node:fs';

/**
 * Built-in bots. Each is a real source file next to this one, read as it is: what runs, what
 * get_bot_code returns and what code_hash covers are the same bytes (spec/compat.md "Hashes").
 */
const PRESET_FILES: Readonly<Record<string, string>> = {
  GuessBot: 'guess-bot.bot.js',
};

const cache = new Map<string, string>();

export function presetNames(): string[] {
  return Object.keys(PRESET_FILES);
}

/** The preset's source, or null when there is no preset of that name. */
export function presetSource(name: string): string | null {
  const file = Object.hasOwn(PRESET_FILES, name) ? PRESET_FILES[name] : undefined;
  if (!file) return null;
  let source = cache.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`./presets/${file}`, import.meta.url), 'utf8');
    cache.set(name, source);
  }
  return source;
}
