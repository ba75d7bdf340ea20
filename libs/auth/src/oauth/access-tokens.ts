import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, createLocalJWKSet } from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload } from 'jose';
import type { PrincipalId, TenantId } from '#core';
import type { Principal, PrincipalKind } from '../principal.js';
import type { OAuthStore } from './oauth.store.js';
import type { AccessGrant, IssuedAccessClaims, SigningKey } from './oauth.types.js';

export interface AccessTokenSettings {
  /** The authorization server's issuer identifier (RFC 8414 §2): the public base URL. */
  readonly issuer: string;
  /** Every audience this resource server answers for; a token for any other is refused. */
  readonly audiences: readonly string[];
  readonly ttlSeconds: number;
  /** How long one key signs before a new one takes over (RFC 7517 key rotation). */
  readonly keyRotationSeconds: number;
}

/** What an access token says, besides the standard claims. */
export interface AccessTokenSubject {
  readonly principal: Principal;
  readonly clientId: string;
  readonly scope: string;
  readonly audience: string;
}

/** Looking the keys up again is allowed at most this often when a token names an unknown one. */
const KEY_REFRESH_MS = 5_000;
/** Published keys are re-read this often, so a key another replica created is soon known. */
const KEY_CACHE_MS = 60_000;
/** Tokens whose signature was checked, kept until they expire: a check costs ~130 µs of CPU. */
const VERIFIED_CACHE_SIZE = 10_000;
const PRINCIPAL_KINDS: ReadonlySet<string> = new Set<PrincipalKind>([
  'anonymous',
  'user',
  'service',
]);

/**
 * Access tokens as RFC 9068 JWTs signed with RS256 keys kept in the database, so every replica
 * signs and verifies with the same keys. A key signs for `keyRotationSeconds`, then only verifies
 * until the last token it signed has expired.
 */
export class AccessTokens {
  private keys: SigningKey[] = [];
  private loadedAt = 0;
  private jwks: ReturnType<typeof createLocalJWKSet> | null = null;
  private readonly verified = new Map<string, { grant: AccessGrant; expiresAt: number }>();

  constructor(
    private readonly store: OAuthStore,
    private readonly settings: AccessTokenSettings,
  ) {}

  /**
   * Signs an access token. With `fixed`, the claims of a token issued before are reused, and the
   * same token results: RS256 signatures are deterministic.
   */
  async sign(
    subject: AccessTokenSubject,
    fixed?: IssuedAccessClaims,
  ): Promise<{ token: string; claims: IssuedAccessClaims }> {
    const key = fixed ? await this.keyById(fixed.kid) : await this.activeKey();
    const iat = fixed?.iat ?? Math.floor(Date.now() / 1000);
    const claims: IssuedAccessClaims = {
      jti: fixed?.jti ?? randomUUID(),
      iat,
      exp: fixed?.exp ?? iat + this.settings.ttlSeconds,
      kid: key.kid,
    };
    const token = await new SignJWT({
      client_id: subject.clientId,
      scope: subject.scope,
      tid: subject.principal.tenantId,
      pkd: subject.principal.kind,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setSubject(subject.principal.id)
      .setAudience(subject.audience)
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .setJti(claims.jti)
      .sign(await importJWK(key.privateJwk as JWK, key.alg));
    return { token, claims };
  }

  /**
   * The grant a token proves, or null when it is forged, expired, or for another audience. A token
   * already verified is answered from memory until it expires (access tokens are never revoked one
   * by one, so nothing else could change the answer).
   */
  async verify(token: string): Promise<AccessGrant | null> {
    const known = this.recall(token);
    if (known) return known;
    // Outside the try: keys that cannot be read (the database is away) say nothing of the token,
    // and the caller must hear a retryable error, not a 401 that sends its client to sign in again.
    const keys = await this.keySet(token);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: [...this.settings.audiences],
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      const grant = toGrant(payload);
      if (grant && payload.exp !== undefined) this.remember(token, grant, payload.exp * 1000);
      return grant;
    } catch {
      return null;
    }
  }

  /** The grant of a token verified before and not yet expired, without checking it again. */
  recall(token: string): AccessGrant | null {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return known.grant;
    if (known) this.verified.delete(token);
    return null;
  }

  private remember(token: string, grant: AccessGrant, expiresAt: number): void {
    this.verified.set(token, { grant, expiresAt });
    if (this.verified.size > VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  async publicKeys(): Promise<JSONWebKeySet> {
    await this.load(false);
    return { keys: this.keys.map((key) => key.publicJwk as JWK) };
  }

  /** Creates a signing key when none can sign for a while longer (at start, then periodically). */
  async rotate(): Promise<void> {
    await this.load(true);
    const horizon = Date.now() + this.settings.ttlSeconds * 1000;
    if (this.keys.some((key) => key.retiresAt.getTime() > horizon)) return;
    const { privateKey, publicKey } = await generateKeyPair('RS256', {
      modulusLength: 2048,
      extractable: true,
    });
    const kid = randomUUID();
    const now = Date.now();
    const retiresAt = new Date(now + this.settings.keyRotationSeconds * 1000);
    const key: SigningKey = {
      kid,
      alg: 'RS256',
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
      createdAt: new Date(now),
      retiresAt,
      expiresAt: new Date(retiresAt.getTime() + this.settings.ttlSeconds * 1000 + 60_000),
    };
    await this.store.addSigningKey(key);
    await this.load(true);
  }

  private async activeKey(): Promise<SigningKey> {
    await this.load(false);
    const now = Date.now();
    let key = this.keys.find((k) => k.retiresAt.getTime() > now);
    if (!key) {
      await this.rotate();
      key = this.keys.find((k) => k.retiresAt.getTime() > now);
    }
    if (!key) throw new Error('no signing key could be created');
    return key;
  }

  private async keyById(kid: string): Promise<SigningKey> {
    await this.load(false);
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`signing key ${kid} is gone`);
    return key;
  }

  /** The key set to verify with, re-read once when the token names a key not yet known. */
  private async keySet(token: string): Promise<ReturnType<typeof createLocalJWKSet>> {
    await this.load(false);
    const kid = headerKid(token);
    if (
      kid &&
      !this.keys.some((k) => k.kid === kid) &&
      Date.now() - this.loadedAt > KEY_REFRESH_MS
    ) {
      await this.load(true);
    }
    return this.jwks ?? createLocalJWKSet({ keys: [] });
  }

  private async load(force: boolean): Promise<void> {
    if (!force && this.jwks && Date.now() - this.loadedAt < KEY_CACHE_MS) return;
    this.keys = await this.store.signingKeys();
    this.jwks = createLocalJWKSet({ keys: this.keys.map((key) => key.publicJwk as JWK) });
    this.loadedAt = Date.now();
  }
}

function headerKid(token: string): string | null {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}

function toGrant(payload: JWTPayload): AccessGrant | null {
  const { sub, tid, pkd, client_id: clientId, scope, aud } = payload;
  if (
    typeof sub !== 'string' ||
    typeof tid !== 'string' ||
    typeof pkd !== 'string' ||
    !PRINCIPAL_KINDS.has(pkd) ||
    typeof clientId !== 'string' ||
    typeof scope !== 'string' ||
    typeof aud !== 'string'
  ) {
    return null;
  }
  return {
    principal: { tenantId: tid as TenantId, id: sub as PrincipalId, kind: pkd as PrincipalKind },
    clientId,
    scopes: new Set(scope.split(' ').filter(Boolean)),
    audience: aud,
  };
}
