import { OAuthError } from '#auth';

/** Longest value accepted for any OAuth parameter. */
const MAX_PARAM_LENGTH = 4096;

/**
 * The parameters of a form (or JSON) body or a query, each a single string (RFC 6749 §3.1:
 * parameters must not repeat). Anything else is `invalid_request`.
 */
export function formParams(source: unknown): Readonly<Record<string, string | undefined>> {
  if (source === undefined || source === null) return {};
  if (typeof source !== 'object' || Array.isArray(source)) {
    throw new OAuthError('invalid_request', 'Send the parameters as a form.');
  }
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(source)) {
    if (typeof value !== 'string') {
      throw new OAuthError(
        'invalid_request',
        `Parameter ${name.slice(0, 64)} must appear once, as text.`,
      );
    }
    if (value.length > MAX_PARAM_LENGTH) {
      throw new OAuthError('invalid_request', `Parameter ${name.slice(0, 64)} is too long.`);
    }
    if (value !== '') params[name] = value;
  }
  return params;
}
