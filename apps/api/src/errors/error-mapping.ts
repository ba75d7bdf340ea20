import { DomainError, InternalError } from '#core';
import type { ErrorKind } from '#core';

/** HTTP status for each kind of domain error (the REST edge). */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  'not-found': 404,
  conflict: 409,
  forbidden: 403,
  'rate-limited': 429,
  unavailable: 503,
  internal: 500,
};

/**
 * Any thrown value as a domain error the caller may see: domain errors as they are, anything else
 * as a generic INTERNAL_ERROR (the cause is for the log only).
 */
export function toDomainError(error: unknown): { error: DomainError; unexpected: boolean } {
  if (error instanceof DomainError) return { error, unexpected: false };
  return { error: new InternalError(), unexpected: true };
}

/**
 * Seconds a client should wait before retrying an `unavailable` error (RFC 9110 §10.2.3
 * Retry-After): the error's own hint when it has one; null for every other kind.
 */
export function retryAfterOf(error: DomainError): number | null {
  if (error.kind !== 'unavailable') return null;
  const hint = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof hint === 'number' && hint > 0 ? Math.ceil(hint) : DEFAULT_RETRY_AFTER_SECONDS;
}

const DEFAULT_RETRY_AFTER_SECONDS = 5;
