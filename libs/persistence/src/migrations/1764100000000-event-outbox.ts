import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox (DESIGN §7): each channel records the last event the relay published;
 * a partial index finds the channels with events still waiting.
 */
export class EventOutbox1764100000000 implements MigrationInterface {
  name = 'EventOutbox1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE channels ADD COLUMN published_seq integer NOT NULL DEFAULT 0`);
    await db.query(
      `CREATE INDEX channels_unpublished ON channels (tenant_id, id) WHERE last_event_seq > published_seq`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX IF EXISTS channels_unpublished');
    await db.query('ALTER TABLE channels DROP COLUMN IF EXISTS published_seq');
  }
}
