import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How often recovery has started a bot's oldest uncommitted event (issue 11, item 1): an event
 * whose hook kills the process would otherwise be replayed, and kill it, on every start.
 */
export class BotRecoveryAttempts1764300000000 implements MigrationInterface {
  name = 'BotRecoveryAttempts1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE bots ADD COLUMN recovery_seq integer NOT NULL DEFAULT 0,
                       ADD COLUMN recovery_attempts integer NOT NULL DEFAULT 0`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      'ALTER TABLE bots DROP COLUMN IF EXISTS recovery_seq, DROP COLUMN IF EXISTS recovery_attempts',
    );
  }
}
