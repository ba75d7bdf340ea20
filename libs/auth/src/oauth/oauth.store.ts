import type { PrincipalId, TenantId } from '#core';
import type {
  AuthorizationCodeRecord,
  IssuedAccessClaims,
  OAuthClient,
  RefreshTokenRecord,
  SigningKey,
} from './oauth.types.js';

/**
 * Where the authorization server keeps its state. Codes and tokens are found by the SHA-256 of
 * their value, before the tenant is known: the stored row names the tenant. Clients registered
 * dynamically belong to no tenant.
 */
export abstract class OAuthStore {
  abstract createClient(client: OAuthClient): Promise<void>;
  /** Stores or refreshes a client known by its metadata document (its id is the document URL). */
  abstract saveMetadataClient(client: OAuthClient): Promise<void>;
  abstract findClient(clientId: string): Promise<OAuthClient | null>;
  /** Records that the client was just used, so it does not expire. */
  abstract touchClient(clientId: string): Promise<void>;
  /**
   * Deletes clients registered dynamically or by metadata document unused since `before`, with
   * their grants; returns how many.
   */
  abstract deleteUnusedClients(before: Date): Promise<number>;

  abstract saveCode(code: AuthorizationCodeRecord): Promise<void>;
  /**
   * Marks a code used and returns it. On its first use the code takes `familyId`, the refresh-token
   * family it starts; a later use (`firstUse` false, a replay) returns the first use's family.
   */
  abstract useCode(
    codeHash: string,
    familyId: string,
  ): Promise<{ code: AuthorizationCodeRecord; firstUse: boolean; familyId: string } | null>;
  /**
   * Records that a code was replayed. Waits for a first use that is storing its refresh token, so
   * a revocation of the family that follows sees that token.
   */
  abstract markCodeReplayed(codeHash: string): Promise<void>;
  /** Stores the refresh token a code's first use issued, unless the code was replayed meanwhile. */
  abstract saveCodeRefreshToken(codeHash: string, token: RefreshTokenRecord): Promise<boolean>;

  abstract findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * In one atomic step: marks the token rotated (remembering the access token it produced) and
   * stores its successor, only if it was neither rotated nor revoked. False when it was.
   */
  abstract rotateRefreshToken(
    tokenHash: string,
    issued: IssuedAccessClaims,
    successor: RefreshTokenRecord,
  ): Promise<boolean>;
  /** Revokes every token of a family (reuse detected, code replayed, or revocation asked). */
  abstract revokeFamily(familyId: string): Promise<void>;

  /** Keys not yet expired, newest first. */
  abstract signingKeys(): Promise<SigningKey[]>;
  abstract addSigningKey(key: SigningKey): Promise<void>;
  /** A named server secret, created once with `create()` and shared by every replica. */
  abstract serverSecret(name: string, create: () => string): Promise<string>;

  /**
   * Records that a sealed sign-in or consent form was posted, in one atomic step shared by every
   * replica: true for its first use, false when it was used before. The record is kept until
   * `expiresAt` (the seal's own expiry; an expired seal is refused anyway), and records past their
   * expiry may be deleted on the way.
   */
  abstract useFormSeal(sealHash: string, expiresAt: Date): Promise<boolean>;

  /** The scope a principal has already consented to for a client, or null. */
  abstract findConsent(
    tenantId: TenantId,
    principalId: PrincipalId,
    clientId: string,
  ): Promise<string | null>;
  abstract saveConsent(
    tenantId: TenantId,
    principalId: PrincipalId,
    clientId: string,
    scope: string,
  ): Promise<void>;
}
