/**
 * What kind of failure a domain error is. The edges map kinds to transport answers
 * (HTTP status, MCP `isError` result); the domain never speaks HTTP.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'not-found'
  | 'conflict'
  | 'forbidden'
  | 'rate-limited'
  | 'unavailable'
  | 'internal';

/**
 * A failure the caller can act on. `code` is stable and matches the wire contract
 * (spec/compat.md); `message` is one or two sentences an LLM agent can follow.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  abstract readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input breaks a documented rule: wrong type, missing field, over a limit. */
export class InvalidRequestError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'INVALID_REQUEST';
}

/** Something failed on our side. The message never carries internals. */
export class InternalError extends DomainError {
  readonly kind = 'internal';
  readonly code = 'INTERNAL_ERROR';
  constructor(
    message = 'The server could not complete this call. Nothing was changed; try again.',
  ) {
    super(message);
  }
}
