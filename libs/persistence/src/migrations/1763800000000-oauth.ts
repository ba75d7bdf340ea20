import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The authorization server's tables (DESIGN §8): clients, authorization codes, refresh-token
 * families, signing keys, local accounts and remembered consents. Every secret is stored as its
 * SHA-256; signing keys are the one exception, since the server must sign with them.
 */
export class OAuth1763800000000 implements MigrationInterface {
  name = 'OAuth1763800000000';

  async up(db: QueryRunner): Promise<void> {
    // A client registered dynamically (RFC 7591) or by metadata document has no tenant: users of
    // any tenant sign in through it. A client for the client-credentials grant belongs to one
    // tenant and acts as one service principal of it.
    await db.query(`
      CREATE TABLE oauth_clients (
        id text PRIMARY KEY,
        tenant_id text REFERENCES tenants (id),
        principal_id text,
        source text NOT NULL CHECK (source IN ('dynamic', 'metadata', 'admin')),
        name text NOT NULL,
        secret_hash text,
        auth_method text NOT NULL,
        application_type text NOT NULL,
        redirect_uris jsonb NOT NULL,
        grant_types jsonb NOT NULL,
        scope text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NOT NULL DEFAULT now(),
        fetched_until timestamptz,
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(
      `CREATE INDEX oauth_clients_unused ON oauth_clients (last_used_at) WHERE source <> 'admin'`,
    );
    await db.query(`
      CREATE TABLE oauth_codes (
        code_hash text PRIMARY KEY,
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
        redirect_uri text NOT NULL,
        code_challenge text NOT NULL,
        scope text NOT NULL,
        resource text NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        replayed_at timestamptz,
        family_id text,
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE oauth_refresh_tokens (
        token_hash text PRIMARY KEY,
        family_id text NOT NULL,
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
        scope text NOT NULL,
        resource text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        successor jsonb,
        revoked_at timestamptz,
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX oauth_refresh_family ON oauth_refresh_tokens (family_id)`);
    await db.query(`
      CREATE TABLE oauth_signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retires_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE oauth_server_secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE accounts (
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        username text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, principal_id),
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
    // Usernames are unique across tenants: the login page asks for nothing else.
    await db.query(`CREATE UNIQUE INDEX accounts_username ON accounts (lower(username))`);
    await db.query(`
      CREATE TABLE oauth_consents (
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
        scope text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, principal_id, client_id),
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'oauth_consents',
      'accounts',
      'oauth_server_secrets',
      'oauth_signing_keys',
      'oauth_refresh_tokens',
      'oauth_codes',
      'oauth_clients',
    ]) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
