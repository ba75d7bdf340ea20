import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An inline bot has no code reference: `code_ref` is null, as the original answers (issue 12),
 * where it was the string "inline". Presets keep `builtin://<Preset>`.
 */
export class InlineCodeRefNull1764400000000 implements MigrationInterface {
  name = 'InlineCodeRefNull1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE bots ALTER COLUMN code_ref DROP NOT NULL');
    await db.query(`UPDATE bots SET code_ref = NULL WHERE code_ref = 'inline'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE bots SET code_ref = 'inline' WHERE code_ref IS NULL`);
    await db.query('ALTER TABLE bots ALTER COLUMN code_ref SET NOT NULL');
  }
}
