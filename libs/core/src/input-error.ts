import type { z } from 'zod';

/**
 * One sentence for the first problem in a zod error, naming the field: "slots is required.",
 * "cursor must be a whole number.". `input` is what was parsed, to tell a missing field from a
 * wrongly typed one (zod 4 reports both as `invalid_type`).
 */
export function describeInputError(error: z.ZodError, input: unknown, prefix = ''): string {
  const issue = error.issues[0];
  if (!issue) return 'The input is not valid.';
  const path = issue.path.map(String).join('.');
  const field = path ? prefix + path : prefix.replace(/\.$/, '') || 'the input';
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined)
    return `${field} is required.`;
  const zodDefault = /^Invalid input/.test(issue.message);
  if (issue.code === 'invalid_type' && zodDefault)
    return `${field} must be of type ${issue.expected}.`;
  const message = issue.message.replace(/\.$/, '');
  if (message.startsWith(field) || (path === '' && prefix === '')) return `${message}.`;
  return `${field}: ${message}.`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
