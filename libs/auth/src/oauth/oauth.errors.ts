import { DomainError } from '#core';
import type { ErrorKind } from '#core';

/** The error codes of RFC 6749 §5.2 and §4.1.2.1, RFC 7591 §3.2.2 and RFC 8707 §2. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'temporarily_unavailable';

const KIND_BY_CODE: Record<OAuthErrorCode, ErrorKind> = {
  invalid_request: 'invalid',
  invalid_client: 'unauthenticated',
  invalid_grant: 'invalid',
  unauthorized_client: 'invalid',
  unsupported_grant_type: 'invalid',
  unsupported_response_type: 'invalid',
  invalid_scope: 'invalid',
  access_denied: 'forbidden',
  invalid_target: 'invalid',
  invalid_redirect_uri: 'invalid',
  invalid_client_metadata: 'invalid',
  temporarily_unavailable: 'unavailable',
};

/**
 * An OAuth protocol error: `code` is the RFC's `error` value and the message its
 * `error_description`, written for the developer of the client. Never carries a secret.
 */
export class OAuthError extends DomainError {
  readonly kind: ErrorKind;

  constructor(
    readonly code: OAuthErrorCode,
    description: string,
  ) {
    super(description);
    this.kind = KIND_BY_CODE[code];
  }
}
