import type { PrincipalId, TenantId } from '#core';
import { OAuthStore } from '#auth';
import type {
  AuthorizationCodeRecord,
  ClientAuthMethod,
  GrantType,
  IssuedAccessClaims,
  OAuthClient,
  RefreshTokenRecord,
  SigningKey,
} from '#auth';
import type { Database } from './database.js';

interface ClientRow {
  id: string;
  tenant_id: string | null;
  principal_id: string | null;
  source: OAuthClient['source'];
  name: string;
  secret_hash: string | null;
  auth_method: ClientAuthMethod;
  application_type: 'web' | 'native';
  redirect_uris: string[];
  grant_types: GrantType[];
  scope: string;
  fetched_until: Date | null;
}

interface CodeRow {
  code_hash: string;
  tenant_id: string;
  principal_id: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  resource: string;
  expires_at: Date;
  family_id: string;
  first_use: boolean;
}

interface RefreshRow {
  token_hash: string;
  family_id: string;
  tenant_id: string;
  principal_id: string;
  client_id: string;
  scope: string;
  resource: string;
  expires_at: Date;
  rotated_at: Date | null;
  successor: IssuedAccessClaims | null;
  revoked_at: Date | null;
}

interface KeyRow {
  kid: string;
  alg: 'RS256';
  private_jwk: Record<string, unknown>;
  public_jwk: Record<string, unknown>;
  created_at: Date;
  retires_at: Date;
  expires_at: Date;
}

/** The authorization server's rows in Postgres; every statement is a single one, so atomic. */
export class TypeOrmOAuthStore extends OAuthStore {
  constructor(private readonly database: Database) {
    super();
  }

  async createClient(client: OAuthClient): Promise<void> {
    await this.database.rows(
      `INSERT INTO oauth_clients (id, tenant_id, principal_id, source, name, secret_hash, auth_method,
         application_type, redirect_uris, grant_types, scope)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        client.id,
        client.tenantId,
        client.principalId,
        client.source,
        client.name,
        client.secretHash,
        client.authMethod,
        client.applicationType,
        JSON.stringify(client.redirectUris),
        JSON.stringify(client.grantTypes),
        client.scope,
      ],
    );
  }

  async saveMetadataClient(client: OAuthClient): Promise<void> {
    await this.database.rows(
      `INSERT INTO oauth_clients (id, source, name, auth_method, application_type, redirect_uris,
         grant_types, scope, fetched_until)
       VALUES ($1, 'metadata', $2, 'none', $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
         application_type = EXCLUDED.application_type, redirect_uris = EXCLUDED.redirect_uris,
         grant_types = EXCLUDED.grant_types, scope = EXCLUDED.scope,
         fetched_until = EXCLUDED.fetched_until, last_used_at = now()
       WHERE oauth_clients.source = 'metadata'`,
      [
        client.id,
        client.name,
        client.applicationType,
        JSON.stringify(client.redirectUris),
        JSON.stringify(client.grantTypes),
        client.scope,
        client.fetchedUntil,
      ],
    );
  }

  async findClient(clientId: string): Promise<OAuthClient | null> {
    const [row] = await this.database.rows<ClientRow>(
      `SELECT id, tenant_id, principal_id, source, name, secret_hash, auth_method, application_type,
              redirect_uris, grant_types, scope, fetched_until
       FROM oauth_clients WHERE id = $1`,
      [clientId],
    );
    return row ? toClient(row) : null;
  }

  async touchClient(clientId: string): Promise<void> {
    await this.database.rows(`UPDATE oauth_clients SET last_used_at = now() WHERE id = $1`, [
      clientId,
    ]);
  }

  async deleteUnusedClients(before: Date): Promise<number> {
    const rows = await this.database.rows(
      `DELETE FROM oauth_clients WHERE source IN ('dynamic', 'metadata') AND last_used_at < $1 RETURNING id`,
      [before],
    );
    return rows.length;
  }

  async saveCode(code: AuthorizationCodeRecord): Promise<void> {
    await this.database.rows(
      `INSERT INTO oauth_codes (code_hash, tenant_id, principal_id, client_id, redirect_uri,
         code_challenge, scope, resource, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        code.codeHash,
        code.tenantId,
        code.principalId,
        code.clientId,
        code.redirectUri,
        code.codeChallenge,
        code.scope,
        code.resource,
        code.expiresAt,
      ],
    );
  }

  async useCode(
    codeHash: string,
    familyId: string,
  ): Promise<{ code: AuthorizationCodeRecord; firstUse: boolean; familyId: string } | null> {
    // The row lock makes concurrent uses of one code see each other: only one is the first.
    const [row] = await this.database.rows<CodeRow>(
      `WITH previous AS (
         SELECT code_hash, used_at FROM oauth_codes WHERE code_hash = $1 FOR UPDATE
       )
       UPDATE oauth_codes c SET used_at = coalesce(c.used_at, now()),
         family_id = coalesce(c.family_id, $2)
       FROM previous WHERE c.code_hash = previous.code_hash
       RETURNING c.code_hash, c.tenant_id, c.principal_id, c.client_id, c.redirect_uri,
         c.code_challenge, c.scope, c.resource, c.expires_at, c.family_id,
         previous.used_at IS NULL AS first_use`,
      [codeHash, familyId],
    );
    if (!row) return null;
    return {
      code: {
        codeHash: row.code_hash,
        tenantId: row.tenant_id as TenantId,
        principalId: row.principal_id as PrincipalId,
        clientId: row.client_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        scope: row.scope,
        resource: row.resource,
        expiresAt: row.expires_at,
      },
      firstUse: row.first_use,
      familyId: row.family_id,
    };
  }

  async markCodeReplayed(codeHash: string): Promise<void> {
    await this.database.rows(`UPDATE oauth_codes SET replayed_at = now() WHERE code_hash = $1`, [
      codeHash,
    ]);
  }

  async saveCodeRefreshToken(codeHash: string, token: RefreshTokenRecord): Promise<boolean> {
    // The lock on the code row orders this against markCodeReplayed: either the replay waits for
    // this token to be stored (and the revocation after it sees the token), or this sees the replay.
    const rows = await this.database.rows(
      `INSERT INTO oauth_refresh_tokens (token_hash, family_id, tenant_id, principal_id, client_id,
         scope, resource, expires_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8
       FROM (SELECT 1 FROM oauth_codes WHERE code_hash = $9 AND replayed_at IS NULL FOR UPDATE) c
       RETURNING token_hash`,
      [...refreshParams(token), codeHash],
    );
    return rows.length === 1;
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const [row] = await this.database.rows<RefreshRow>(
      `SELECT token_hash, family_id, tenant_id, principal_id, client_id, scope, resource,
              expires_at, rotated_at, successor, revoked_at
       FROM oauth_refresh_tokens WHERE token_hash = $1`,
      [tokenHash],
    );
    return row ? toRefresh(row) : null;
  }

  async rotateRefreshToken(
    tokenHash: string,
    issued: IssuedAccessClaims,
    successor: RefreshTokenRecord,
  ): Promise<boolean> {
    const rows = await this.database.rows(
      `WITH rotated AS (
         UPDATE oauth_refresh_tokens SET rotated_at = now(), successor = $9
         WHERE token_hash = $10 AND rotated_at IS NULL AND revoked_at IS NULL
         RETURNING token_hash
       )
       INSERT INTO oauth_refresh_tokens (token_hash, family_id, tenant_id, principal_id, client_id,
         scope, resource, expires_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM rotated
       RETURNING token_hash`,
      [...refreshParams(successor), JSON.stringify(issued), tokenHash],
    );
    return rows.length === 1;
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.database.rows(
      `UPDATE oauth_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId],
    );
  }

  async signingKeys(): Promise<SigningKey[]> {
    const rows = await this.database.rows<KeyRow>(
      `SELECT kid, alg, private_jwk, public_jwk, created_at, retires_at, expires_at
       FROM oauth_signing_keys WHERE expires_at > now() ORDER BY created_at DESC`,
    );
    return rows.map((row) => ({
      kid: row.kid,
      alg: row.alg,
      privateJwk: row.private_jwk,
      publicJwk: row.public_jwk,
      createdAt: row.created_at,
      retiresAt: row.retires_at,
      expiresAt: row.expires_at,
    }));
  }

  async addSigningKey(key: SigningKey): Promise<void> {
    await this.database.rows(
      `INSERT INTO oauth_signing_keys (kid, alg, private_jwk, public_jwk, created_at, retires_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        key.kid,
        key.alg,
        JSON.stringify(key.privateJwk),
        JSON.stringify(key.publicJwk),
        key.createdAt,
        key.retiresAt,
        key.expiresAt,
      ],
    );
  }

  async serverSecret(name: string, create: () => string): Promise<string> {
    // Two replicas starting at once both try to insert; the first wins and both read its value.
    await this.database.rows(
      `INSERT INTO oauth_server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
      [name, create()],
    );
    const [row] = await this.database.rows<{ value: string }>(
      `SELECT value FROM oauth_server_secrets WHERE name = $1`,
      [name],
    );
    if (!row) throw new Error(`server secret ${name} is missing`);
    return row.value;
  }

  async useFormSeal(sealHash: string, expiresAt: Date): Promise<boolean> {
    // The primary key decides between replicas: a concurrent second insert waits for the first and
    // then does nothing. Expired rows go in the same statement, an hour late so that clocks a
    // little apart never free a seal its replica still accepts.
    const rows = await this.database.rows(
      `WITH expired AS (
         DELETE FROM oauth_used_seals WHERE expires_at < now() - interval '1 hour'
       )
       INSERT INTO oauth_used_seals (seal_hash, expires_at) VALUES ($1, $2)
       ON CONFLICT (seal_hash) DO NOTHING
       RETURNING seal_hash`,
      [sealHash, expiresAt],
    );
    return rows.length === 1;
  }

  async findConsent(
    tenantId: TenantId,
    principalId: PrincipalId,
    clientId: string,
  ): Promise<string | null> {
    const [row] = await this.database.tenantRows<{ scope: string }>(
      tenantId,
      `SELECT scope FROM oauth_consents WHERE tenant_id = $1 AND principal_id = $2 AND client_id = $3`,
      [tenantId, principalId, clientId],
    );
    return row?.scope ?? null;
  }

  async saveConsent(
    tenantId: TenantId,
    principalId: PrincipalId,
    clientId: string,
    scope: string,
  ): Promise<void> {
    await this.database.tenantRows(
      tenantId,
      `INSERT INTO oauth_consents (tenant_id, principal_id, client_id, scope) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, principal_id, client_id) DO UPDATE SET scope = EXCLUDED.scope, created_at = now()`,
      [tenantId, principalId, clientId, scope],
    );
  }
}

function toClient(row: ClientRow): OAuthClient {
  return {
    id: row.id,
    tenantId: row.tenant_id as TenantId | null,
    principalId: row.principal_id as PrincipalId | null,
    source: row.source,
    name: row.name,
    secretHash: row.secret_hash,
    authMethod: row.auth_method,
    applicationType: row.application_type,
    redirectUris: row.redirect_uris,
    grantTypes: row.grant_types,
    scope: row.scope,
    fetchedUntil: row.fetched_until,
  };
}

function refreshParams(token: RefreshTokenRecord): unknown[] {
  return [
    token.tokenHash,
    token.familyId,
    token.tenantId,
    token.principalId,
    token.clientId,
    token.scope,
    token.resource,
    token.expiresAt,
  ];
}

function toRefresh(row: RefreshRow): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    tenantId: row.tenant_id as TenantId,
    principalId: row.principal_id as PrincipalId,
    clientId: row.client_id,
    scope: row.scope,
    resource: row.resource,
    expiresAt: row.expires_at,
    rotatedAt: row.rotated_at,
    successor: row.successor,
    revokedAt: row.revoked_at,
  };
}
