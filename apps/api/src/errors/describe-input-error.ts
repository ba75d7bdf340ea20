import type { z } from 'zod';

/**
 * One sentence for the first problem in a zod error, naming the field, e.g.
 * "slots is required" or "cursor must not be negative".
 */
export function describeInputError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The input is not valid.';
  const field = issue.path.map(String).join('.') || 'the input';
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `${field} is required.`;
  }
  if (issue.code === 'invalid_type') return `${field} must be of type ${issue.expected}.`;
  const message = issue.message.replace(/\.$/, '');
  return message.startsWith(field) ? `${message}.` : `${field}: ${message}.`;
}
