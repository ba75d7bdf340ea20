export { DEFAULT_TENANT_ID } from './principal.js';
export type { Principal, PrincipalKind, Tenant } from './principal.js';
export { PrincipalStore, SessionStore } from './session.store.js';
export { CachingSessionStore } from './caching-session.store.js';
export { AccessTokens } from './oauth/access-tokens.js';
export type { AccessTokenSettings, AccessTokenSubject } from './oauth/access-tokens.js';
export { AuthorizationService, AuthorizeRequestError } from './oauth/authorization.service.js';
export type {
  AuthorizationSettings,
  AuthorizeRequest,
  ClientCredentials,
} from './oauth/authorization.service.js';
export { OAuthError } from './oauth/oauth.errors.js';
export type { OAuthErrorCode } from './oauth/oauth.errors.js';
export { OAuthStore } from './oauth/oauth.store.js';
export { ClientMetadataFetchError, ClientMetadataSource } from './oauth/client-metadata-source.js';
export type { FetchedClientMetadata } from './oauth/client-metadata-source.js';
export { DEFAULT_SCOPE, SCOPES } from './oauth/oauth.types.js';
export type {
  AccessGrant,
  AuthorizationCodeRecord,
  ClientAuthMethod,
  GrantType,
  IssuedAccessClaims,
  OAuthClient,
  RefreshTokenRecord,
  Scope,
  SigningKey,
  TokenResponse,
} from './oauth/oauth.types.js';
export { PasswordHasher } from './oauth/password-hasher.js';
export {
  AccountService,
  MIN_PASSWORD_LENGTH,
  UpstreamIdentityError,
} from './accounts/account.service.js';
export { displayNameOf, tenantOf } from './accounts/oidc-identity.js';
export type { TenantMapping, UpstreamClaims } from './accounts/oidc-identity.js';
export { AccountStore } from './accounts/account.store.js';
export type { AccountRecord } from './accounts/account.store.js';
