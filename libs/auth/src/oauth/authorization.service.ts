import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomId, sha256Hex } from '#core';
import type { PrincipalId, TenantId } from '#core';
import type { Principal } from '../principal.js';
import type { PrincipalStore } from '../session.store.js';
import type { AccessTokens } from './access-tokens.js';
import {
  isMetadataDocumentUrl,
  parseMetadataDocument,
  parseRegistration,
  parseScope,
} from './client-metadata.js';
import { ClientMetadataFetchError } from './client-metadata-source.js';
import type { ClientMetadataSource, FetchedClientMetadata } from './client-metadata-source.js';
import { OAuthError } from './oauth.errors.js';
import type { OAuthErrorCode } from './oauth.errors.js';
import type { OAuthStore } from './oauth.store.js';
import type { OAuthClient, RefreshTokenRecord, TokenResponse } from './oauth.types.js';
import { S256_CHALLENGE, verifyPkce } from './pkce.js';
import { redirectUriMatches } from './redirect-uri.js';

export interface AuthorizationSettings {
  /** RFC 8414 issuer: the public base URL, sent back as `iss` on every redirect (RFC 9207). */
  readonly issuer: string;
  /** The resource indicators (RFC 8707) tokens may be bound to; the first is the canonical one. */
  readonly resources: readonly string[];
  readonly codeTtlSeconds: number;
  readonly refreshTtlSeconds: number;
  /** How long a just-rotated refresh token still returns the pair it was rotated into. */
  readonly refreshGraceSeconds: number;
  /**
   * Whether dynamic registration may create client-credentials clients (each acting as a new
   * service principal of the default tenant). Only in the `open` mode; otherwise an administrator
   * creates them for a tenant.
   */
  readonly dynamicClientCredentials: boolean;
  readonly defaultTenantId: TenantId;
}

/** How the client authenticated at the token or revocation endpoint (RFC 6749 §2.3.1). */
export interface ClientCredentials {
  readonly clientId: string | undefined;
  readonly secret: string | undefined;
  readonly via: 'basic' | 'post' | 'none';
}

/** A validated authorization request, ready to be approved or denied. */
export interface AuthorizeRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state: string | null;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly resource: string;
}

/**
 * An authorization request that cannot be answered with a redirect, because the client or the
 * redirect URI is unknown (RFC 6749 §4.1.2.1): the user sees the reason instead.
 */
export class AuthorizeRequestError extends OAuthError {
  constructor(
    code: OAuthErrorCode,
    description: string,
    /** Where to send the error, once the redirect URI is known to be the client's. */
    readonly redirect: { uri: string; state: string | null } | null,
  ) {
    super(code, description);
  }
}

type Params = Readonly<Record<string, string | undefined>>;

/**
 * The OAuth 2.1 authorization server (DESIGN §8): dynamic registration, authorization codes with
 * PKCE S256, audience-bound access tokens, rotated refresh tokens with reuse detection, the
 * client-credentials grant and revocation.
 */
export class AuthorizationService {
  private successorKey: Promise<string> | null = null;

  constructor(
    private readonly store: OAuthStore,
    private readonly principals: PrincipalStore,
    private readonly tokens: AccessTokens,
    private readonly settings: AuthorizationSettings,
    /** Where Client ID Metadata Documents are fetched from; null when they are not accepted. */
    private readonly metadataDocuments: ClientMetadataSource | null = null,
  ) {}

  /** RFC 7591 §3: registers a client and returns the registration response. */
  async register(body: unknown): Promise<Record<string, unknown>> {
    const parsed = parseRegistration(body);
    // The original's scripts register a confidential client without naming grants and then use
    // client credentials (docs/compat.md): where dynamic client-credentials clients are allowed
    // (AUTH_MODE=open), such a client gets that grant beside the default one.
    const originalScript =
      this.settings.dynamicClientCredentials && !parsed.grantsNamed && parsed.authMethod !== 'none';
    const registration = originalScript
      ? { ...parsed, grantTypes: [...parsed.grantTypes, 'client_credentials' as const] }
      : parsed;
    let owner: Principal | null = null;
    if (registration.grantTypes.includes('client_credentials')) {
      if (!this.settings.dynamicClientCredentials) {
        throw new OAuthError(
          'invalid_client_metadata',
          'client_credentials clients are created by an administrator of a tenant here, not by dynamic registration.',
        );
      }
      owner = await this.principals.create(this.settings.defaultTenantId, 'service');
    }
    const confidential = registration.authMethod !== 'none';
    const secret = confidential ? randomId('mcs_', 43) : null;
    const client: OAuthClient = {
      id: randomId('mcc_', 22),
      tenantId: owner?.tenantId ?? null,
      principalId: owner?.id ?? null,
      source: 'dynamic',
      name: registration.name,
      secretHash: secret === null ? null : sha256Hex(secret),
      authMethod: registration.authMethod,
      applicationType: registration.applicationType,
      redirectUris: registration.redirectUris,
      grantTypes: registration.grantTypes,
      scope: registration.scope,
      fetchedUntil: null,
    };
    await this.store.createClient(client);
    return {
      client_id: client.id,
      ...(secret === null ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
      client_id_issued_at: Math.floor(Date.now() / 1000),
      client_name: client.name,
      redirect_uris: client.redirectUris,
      grant_types: client.grantTypes,
      response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: client.authMethod,
      application_type: client.applicationType,
      scope: client.scope,
    };
  }

  /**
   * A confidential client for the client-credentials grant (scripts), acting as a new service
   * principal of one tenant. Returns its id and its secret, which is shown only now.
   */
  async createServiceClient(
    tenantId: TenantId,
    name: string,
    scope?: string,
  ): Promise<{ clientId: string; clientSecret: string; principal: Principal }> {
    const principal = await this.principals.create(tenantId, 'service');
    const secret = randomId('mcs_', 43);
    const client: OAuthClient = {
      id: randomId('mcc_', 22),
      tenantId,
      principalId: principal.id,
      source: 'admin',
      name: name.trim().slice(0, 200) || 'Service client',
      secretHash: sha256Hex(secret),
      authMethod: 'client_secret_basic',
      applicationType: 'web',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scope: parseScope(scope),
      fetchedUntil: null,
    };
    await this.store.createClient(client);
    return { clientId: client.id, clientSecret: secret, principal };
  }

  /** RFC 6749 §4.1.1 with the PKCE (RFC 7636) and resource (RFC 8707) parameters checked. */
  async checkAuthorizeRequest(params: Params): Promise<AuthorizeRequest> {
    const clientId = params['client_id'];
    const client = clientId ? await this.findClient(clientId) : null;
    if (!client) {
      throw new AuthorizeRequestError(
        'invalid_client',
        'The client_id is unknown. The application should register again.',
        null,
      );
    }
    const requested = params['redirect_uri'];
    const redirectUri =
      requested ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (!redirectUri || !redirectUriMatches(redirectUri, client.redirectUris)) {
      throw new AuthorizeRequestError(
        'invalid_request',
        'The redirect_uri is missing or is not one this application registered.',
        null,
      );
    }
    const state = params['state'] ?? null;
    const fail = (code: OAuthErrorCode, description: string) =>
      new AuthorizeRequestError(code, description, { uri: redirectUri, state });
    if (params['response_type'] !== 'code') {
      throw fail('unsupported_response_type', 'Only response_type=code is supported.');
    }
    if (!client.grantTypes.includes('authorization_code')) {
      throw fail(
        'unauthorized_client',
        'This client did not register the authorization_code grant.',
      );
    }
    const challenge = params['code_challenge'];
    if (!challenge || params['code_challenge_method'] !== 'S256') {
      throw fail(
        'invalid_request',
        'PKCE is required: send code_challenge with code_challenge_method=S256.',
      );
    }
    if (!S256_CHALLENGE.test(challenge)) {
      throw fail(
        'invalid_request',
        'code_challenge must be the base64url SHA-256 of the verifier (43 characters).',
      );
    }
    let scope: string;
    let resource: string;
    try {
      scope = parseScope(params['scope'], client.scope);
      resource = this.resourceFor(params['resource']);
    } catch (error) {
      if (error instanceof OAuthError) throw fail(error.code, error.message);
      throw error;
    }
    return { client, redirectUri, state, codeChallenge: challenge, scope, resource };
  }

  /** Approves a request for a principal: stores a one-time code and returns the redirect URL. */
  async approve(request: AuthorizeRequest, principal: Principal): Promise<string> {
    const code = randomId('mac_', 43);
    await this.store.saveCode({
      codeHash: sha256Hex(code),
      tenantId: principal.tenantId,
      principalId: principal.id,
      clientId: request.client.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scope: request.scope,
      resource: request.resource,
      expiresAt: new Date(Date.now() + this.settings.codeTtlSeconds * 1000),
    });
    await this.store.touchClient(request.client.id);
    return this.redirect(request.redirectUri, request.state, { code });
  }

  /** The redirect that reports an error to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`). */
  errorRedirect(
    target: { uri: string; state: string | null },
    code: OAuthErrorCode,
    description: string,
  ): string {
    return this.redirect(target.uri, target.state, { error: code, error_description: description });
  }

  /** The token endpoint (RFC 6749 §3.2), after the client authenticated. */
  async token(params: Params, credentials: ClientCredentials): Promise<TokenResponse> {
    const client = await this.authenticate(credentials);
    switch (params['grant_type']) {
      case 'authorization_code':
        return this.exchangeCode(client, params);
      case 'refresh_token':
        return this.refresh(client, params);
      case 'client_credentials':
        return this.clientCredentials(client, params);
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is required.');
      default:
        throw new OAuthError(
          'unsupported_grant_type',
          'Use authorization_code, refresh_token or client_credentials.',
        );
    }
  }

  /**
   * RFC 7009: revokes a refresh token's whole family. Unknown tokens, access tokens (they expire
   * on their own, soon) and tokens of other clients are answered the same way, with success.
   */
  async revoke(params: Params, credentials: ClientCredentials): Promise<void> {
    const client = await this.authenticate(credentials);
    const token = params['token'];
    if (!token) throw new OAuthError('invalid_request', 'token is required.');
    const record = await this.store.findRefreshToken(sha256Hex(token));
    if (record && record.clientId === client.id) await this.store.revokeFamily(record.familyId);
  }

  private async exchangeCode(client: OAuthClient, params: Params): Promise<TokenResponse> {
    const code = params['code'];
    const verifier = params['code_verifier'];
    if (!code) throw new OAuthError('invalid_request', 'code is required.');
    if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE).');
    const codeHash = sha256Hex(code);
    const used = await this.store.useCode(codeHash, randomId('rtf_', 22));
    const invalid = new OAuthError(
      'invalid_grant',
      'The authorization code is invalid, expired or already used; start the authorization again.',
    );
    if (!used) throw invalid;
    if (!used.firstUse) {
      // RFC 6749 §4.1.2: a code used twice revokes what its first use issued. Marking the code
      // first means a first use still in flight stores no refresh token afterwards.
      await this.store.markCodeReplayed(codeHash);
      await this.store.revokeFamily(used.familyId);
      throw invalid;
    }
    const record = used.code;
    if (record.clientId !== client.id || record.expiresAt.getTime() <= Date.now()) throw invalid;
    // OAuth 2.1 §4.1.3: without redirect_uri, only the client's one registered URI, as it is.
    const redirectUri =
      params['redirect_uri'] ??
      (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (redirectUri !== record.redirectUri) {
      throw new OAuthError(
        'invalid_grant',
        'redirect_uri does not match the authorization request.',
      );
    }
    if (!verifyPkce(verifier, record.codeChallenge)) {
      throw new OAuthError('invalid_grant', 'The code_verifier does not match the code_challenge.');
    }
    if (
      params['resource'] !== undefined &&
      this.resourceFor(params['resource']) !== record.resource
    ) {
      throw new OAuthError('invalid_target', 'resource differs from the one authorized.');
    }
    const principal = await this.principalOf(record.tenantId, record.principalId);
    const refreshToken = randomId('mrt_', 43);
    const { token, claims } = await this.tokens.sign({
      principal,
      clientId: client.id,
      scope: record.scope,
      audience: record.resource,
    });
    const saved = await this.store.saveCodeRefreshToken(codeHash, {
      tokenHash: sha256Hex(refreshToken),
      familyId: used.familyId,
      tenantId: principal.tenantId,
      principalId: principal.id,
      clientId: client.id,
      scope: record.scope,
      resource: record.resource,
      expiresAt: new Date(Date.now() + this.settings.refreshTtlSeconds * 1000),
      rotatedAt: null,
      successor: null,
      revokedAt: null,
    });
    if (!saved) throw invalid;
    return this.response(token, claims.exp, refreshToken, record.scope);
  }

  /**
   * Rotates a refresh token (OAuth 2.1 §4.3.1). A token rotated less than the grace window ago
   * returns the same new pair, for clients that refresh from several processes at once; one
   * rotated longer ago is a replay, and its whole family is revoked.
   */
  private async refresh(client: OAuthClient, params: Params): Promise<TokenResponse> {
    const presented = params['refresh_token'];
    if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required.');
    const invalid = new OAuthError(
      'invalid_grant',
      'The refresh token is invalid, expired or revoked; authorize again.',
    );
    const tokenHash = sha256Hex(presented);
    const record = await this.store.findRefreshToken(tokenHash);
    if (!record || record.clientId !== client.id) throw invalid;
    if (record.revokedAt || record.expiresAt.getTime() <= Date.now()) throw invalid;
    if (
      params['resource'] !== undefined &&
      this.resourceFor(params['resource']) !== record.resource
    ) {
      throw new OAuthError('invalid_target', 'resource differs from the one authorized.');
    }
    const scope = parseScope(params['scope'], record.scope);
    const principal = await this.principalOf(record.tenantId, record.principalId);
    const successor = await this.successorOf(presented);
    if (record.rotatedAt === null) {
      const { token, claims } = await this.tokens.sign({
        principal,
        clientId: client.id,
        scope,
        audience: record.resource,
      });
      const next = this.refreshRecord(record, successor, principal);
      if (await this.store.rotateRefreshToken(tokenHash, claims, next)) {
        await this.store.touchClient(client.id);
        return this.response(token, claims.exp, successor, scope);
      }
      return this.refresh(client, params);
    }
    const sinceRotation = Date.now() - record.rotatedAt.getTime();
    if (sinceRotation > this.settings.refreshGraceSeconds * 1000 || !record.successor) {
      await this.store.revokeFamily(record.familyId);
      throw invalid;
    }
    const { token, claims } = await this.tokens.sign(
      { principal, clientId: client.id, scope, audience: record.resource },
      record.successor,
    );
    return this.response(token, claims.exp, successor, scope);
  }

  private async clientCredentials(client: OAuthClient, params: Params): Promise<TokenResponse> {
    if (
      !client.grantTypes.includes('client_credentials') ||
      !client.tenantId ||
      !client.principalId
    ) {
      throw new OAuthError(
        'unauthorized_client',
        'This client may not use the client_credentials grant.',
      );
    }
    const scope = parseScope(params['scope'], client.scope);
    const resource = this.resourceFor(params['resource']);
    const principal = await this.principalOf(client.tenantId, client.principalId);
    const { token, claims } = await this.tokens.sign({
      principal,
      clientId: client.id,
      scope,
      audience: resource,
    });
    await this.store.touchClient(client.id);
    return this.response(token, claims.exp, undefined, scope);
  }

  private refreshRecord(
    previous: RefreshTokenRecord,
    token: string,
    principal: Principal,
  ): RefreshTokenRecord {
    return {
      ...previous,
      tokenHash: sha256Hex(token),
      tenantId: principal.tenantId,
      principalId: principal.id,
      expiresAt: new Date(Date.now() + this.settings.refreshTtlSeconds * 1000),
      rotatedAt: null,
      successor: null,
      revokedAt: null,
    };
  }

  private response(
    accessToken: string,
    exp: number,
    refreshToken: string | undefined,
    scope: string,
  ): TokenResponse {
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.max(0, exp - Math.floor(Date.now() / 1000)),
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      scope,
    };
  }

  /**
   * The refresh token a token rotates into, derived with a server secret, so that every replica
   * computes the same successor for a concurrent refresh without storing it in the clear.
   */
  private async successorOf(token: string): Promise<string> {
    this.successorKey ??= this.store.serverSecret('refresh-successor', () =>
      randomBytes(32).toString('base64url'),
    );
    const key = await this.successorKey;
    return `mrt_${createHmac('sha256', key).update(token).digest('base64url')}`;
  }

  /** Client authentication (RFC 6749 §2.3.1); any failure is `invalid_client` (401). */
  private async authenticate(credentials: ClientCredentials): Promise<OAuthClient> {
    const unknown = new OAuthError(
      'invalid_client',
      'Client authentication failed: the client is unknown, or its secret is wrong. Register again if it expired.',
    );
    if (!credentials.clientId) throw unknown;
    const client = await this.findClient(credentials.clientId);
    if (!client) throw unknown;
    if (client.secretHash !== null) {
      if (!credentials.secret || !sameHash(sha256Hex(credentials.secret), client.secretHash)) {
        throw unknown;
      }
    }
    return client;
  }

  /**
   * A registered client, or one known by its metadata document: fetched when first seen or stale,
   * then kept as its cache headers allow.
   */
  private async findClient(clientId: string): Promise<OAuthClient | null> {
    const known = await this.store.findClient(clientId);
    if (!this.metadataDocuments || !isMetadataDocumentUrl(clientId)) return known;
    if (known?.fetchedUntil && known.fetchedUntil.getTime() > Date.now()) return known;
    let fetched: FetchedClientMetadata;
    try {
      fetched = await this.metadataDocuments.fetch(new URL(clientId));
    } catch (error) {
      if (!(error instanceof ClientMetadataFetchError)) throw error;
      throw new OAuthError(
        'invalid_client',
        `The client metadata document could not be used: ${error.message}`,
      );
    }
    const { registration, ttlSeconds } = parseMetadataDocument(
      clientId,
      fetched.document,
      fetched.maxAgeSeconds,
    );
    const client: OAuthClient = {
      id: clientId,
      tenantId: null,
      principalId: null,
      source: 'metadata',
      name: registration.name,
      secretHash: null,
      authMethod: 'none',
      applicationType: registration.applicationType,
      redirectUris: registration.redirectUris,
      grantTypes: registration.grantTypes,
      scope: registration.scope,
      fetchedUntil: new Date(Date.now() + ttlSeconds * 1000),
    };
    await this.store.saveMetadataClient(client);
    return client;
  }

  private async principalOf(tenantId: TenantId, principalId: PrincipalId): Promise<Principal> {
    const principal = await this.principals.find(tenantId, principalId);
    if (!principal) {
      throw new OAuthError('invalid_grant', 'The account this grant belongs to no longer exists.');
    }
    return principal;
  }

  /**
   * RFC 8707 §2: an absolute URI without a fragment, one of ours; absent means the canonical one.
   * Compared without a trailing slash (`new URL()` adds one to a bare origin).
   */
  private resourceFor(value: string | undefined): string {
    const canonical = this.settings.resources[0] ?? this.settings.issuer;
    if (value === undefined) return canonical;
    const normalised = value.replace(/\/+$/, '');
    if (value.includes('#') || !this.settings.resources.includes(normalised)) {
      throw new OAuthError(
        'invalid_target',
        `This server issues tokens for ${canonical}; the requested resource is not it.`,
      );
    }
    return normalised;
  }

  private redirect(uri: string, state: string | null, values: Record<string, string>): string {
    const url = new URL(uri);
    for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value);
    if (state !== null) url.searchParams.set('state', state);
    url.searchParams.set('iss', this.settings.issuer);
    return url.toString();
  }
}

function sameHash(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
