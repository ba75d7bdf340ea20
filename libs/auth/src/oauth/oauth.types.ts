import type { PrincipalId, TenantId } from '#core';
import type { Principal } from '../principal.js';

/**
 * The scopes this server grants. `channels:read` lets a client read channels it is a member of;
 * `channels:write` lets it create, join and post. MCP needs both (its tools do both).
 */
export const SCOPES = ['channels:read', 'channels:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a client gets when it asks for no scope. */
export const DEFAULT_SCOPE = SCOPES.join(' ');

export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';
export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/**
 * A registered client. One registered dynamically or by metadata document has no tenant (users of
 * any tenant sign in through it); one that uses the client-credentials grant acts as one service
 * principal of one tenant.
 */
export interface OAuthClient {
  readonly id: string;
  readonly tenantId: TenantId | null;
  readonly principalId: PrincipalId | null;
  readonly source: 'dynamic' | 'metadata' | 'admin';
  readonly name: string;
  readonly secretHash: string | null;
  readonly authMethod: ClientAuthMethod;
  readonly applicationType: 'web' | 'native';
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly scope: string;
  /** For a client known by its metadata document: until when the fetched document is fresh. */
  readonly fetchedUntil: Date | null;
}

/** An authorization code as stored: only its hash, bound to everything the request said. */
export interface AuthorizationCodeRecord {
  readonly codeHash: string;
  readonly tenantId: TenantId;
  readonly principalId: PrincipalId;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly resource: string;
  readonly expiresAt: Date;
}

/**
 * The access token that rotating a refresh token produced, kept so that a concurrent refresh with
 * the same token inside the grace window gets the very same token back (RS256 is deterministic).
 */
export interface IssuedAccessClaims {
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly kid: string;
}

/** A refresh token as stored: its hash, its family (all its rotations) and what it grants. */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly familyId: string;
  readonly tenantId: TenantId;
  readonly principalId: PrincipalId;
  readonly clientId: string;
  readonly scope: string;
  readonly resource: string;
  readonly expiresAt: Date;
  readonly rotatedAt: Date | null;
  readonly successor: IssuedAccessClaims | null;
  readonly revokedAt: Date | null;
}

/** A key the server signs access tokens with (RFC 7517 JWKs). */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256';
  readonly privateJwk: Record<string, unknown>;
  readonly publicJwk: Record<string, unknown>;
  readonly createdAt: Date;
  /** After this the key only verifies; a newer key signs. */
  readonly retiresAt: Date;
  /** After this the key is no longer published: every token it signed has expired. */
  readonly expiresAt: Date;
}

/** What a valid access token proves about the request that carries it. */
export interface AccessGrant {
  readonly principal: Principal;
  readonly clientId: string;
  readonly scopes: ReadonlySet<string>;
  readonly audience: string;
}

/** The token endpoint's successful answer (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
}
