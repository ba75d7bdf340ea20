/**
 * Text PostgreSQL can store: no NUL character (text and jsonb refuse it) and well-formed UTF-16,
 * with no unpaired surrogate (jsonb refuses its escape; text would replace it silently).
 */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** How deep JSON bodies and bot state may nest (PostgreSQL and V8 recursion both have limits). */
export const MAX_JSON_DEPTH = 64;

/**
 * The path of the first problem in a JSON value: a string or key that is not storable text, or
 * nesting deeper than MAX_JSON_DEPTH. Null when there is none. Paths read like `moves[2].note`.
 * Iterative, so a hostile value cannot exhaust the stack.
 */
export function findUnstorableText(value: unknown): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { path, depth } = item;
    const here = path || '(value)';
    if (typeof item.value === 'string') {
      if (!isStorableText(item.value)) return here;
    } else if (typeof item.value === 'object' && item.value !== null) {
      if (depth >= MAX_JSON_DEPTH) return `${here} (nested more than ${MAX_JSON_DEPTH} levels)`;
      const entries = Array.isArray(item.value)
        ? item.value.map((child, index) => [`${path}[${index}]`, child] as const)
        : Object.entries(item.value).map(
            ([key, child]) => [path ? `${path}.${key}` : key, child] as const,
          );
      for (const [childPath, child] of entries.reverse()) {
        if (
          !Array.isArray(item.value) &&
          !isStorableText(childPath.slice(path ? path.length + 1 : 0))
        )
          return childPath;
        stack.push({ value: child, path: childPath, depth: depth + 1 });
      }
    }
  }
  return null;
}
