import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sealed login and consent forms already posted (issue 11): a form is used once, by whichever
 * replica gets it first, so posting it again mints no second authorization code. Rows are kept
 * until the seal expires; the index finds the expired ones to delete. Not under RLS, like the other
 * OAuth tables: a form is posted before any tenant is known.
 */
export class UsedFormSeals1764200000000 implements MigrationInterface {
  name = 'UsedFormSeals1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE oauth_used_seals (
        seal_hash text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX oauth_used_seals_expiry ON oauth_used_seals (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE IF EXISTS oauth_used_seals');
  }
}
