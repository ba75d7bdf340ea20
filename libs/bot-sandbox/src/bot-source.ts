/**
 * Turns a bot source into the ES module the sandbox evaluates. A source with exports is used as
 * it is; a source with no exports and exactly one top-level class gets `export default <Class>`
 * appended (DESIGN §6). The code hash is always over the source as given, never this output.
 */
export function toBotModule(source: string): { module: string } | { error: string } {
  if (/^\s*export\s/m.test(source)) return { module: source };
  const classes = [...source.matchAll(/^class\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
  if (classes.length === 1) return { module: `${source}\nexport default ${classes[0]};\n` };
  return {
    error:
      'bot_code must be an ES module whose default export is the bot class (or define exactly one top-level class).',
  };
}

/** A cheap check for Python source, so its author gets a clear answer instead of a syntax error. */
export function looksLikePython(source: string): boolean {
  return (
    /^\s*def\s+\w+\s*\(.*\)\s*(->\s*[^:]+)?:\s*$/m.test(source) ||
    /^class\s+\w+\s*(\([^)]*\))?\s*:\s*$/m.test(source) ||
    /^from\s+[\w.]+\s+import\s+/m.test(source)
  );
}
