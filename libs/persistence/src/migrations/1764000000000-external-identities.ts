import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * People who sign in through an upstream OpenID Connect provider (AUTH_MODE=oidc): the provider's
 * (issuer, subject) names one user principal of one tenant. Read before the tenant is known, like
 * accounts, so outside row-level security.
 */
export class ExternalIdentities1764000000000 implements MigrationInterface {
  name = 'ExternalIdentities1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE external_identities (
        issuer text NOT NULL,
        subject text NOT NULL,
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        display_name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (issuer, subject),
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE IF EXISTS external_identities');
  }
}
