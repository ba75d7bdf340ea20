import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants, principals, sessions, channels and everything in them. The tenant id leads every key
 * and index (REFERENCES "Multi-tenant isolation"); row-level security arrives with OAuth.
 */
export class InitialSchema1763700000000 implements MigrationInterface {
  name = 'InitialSchema1763700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`INSERT INTO tenants (id, name) VALUES ('ten_default', 'Default')`);
    await db.query(`
      CREATE TABLE principals (
        tenant_id text NOT NULL REFERENCES tenants (id),
        id text NOT NULL,
        kind text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await db.query(`
      CREATE TABLE mcp_sessions (
        id_hash text PRIMARY KEY,
        tenant_id text NOT NULL,
        principal_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE channels (
        tenant_id text NOT NULL REFERENCES tenants (id),
        id text NOT NULL,
        name text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_msg_id integer NOT NULL DEFAULT 0,
        last_event_seq integer NOT NULL DEFAULT 0,
        active_bots integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, id)
      )`);
    await db.query(`CREATE INDEX channels_created_by ON channels (tenant_id, created_by)`);
    await db.query(`
      CREATE TABLE slots (
        tenant_id text NOT NULL,
        channel_id text NOT NULL,
        slot_id text NOT NULL,
        position integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('bot', 'invite')),
        label text NOT NULL,
        admin boolean NOT NULL,
        invite_hash text,
        member_token_hash text,
        principal_id text,
        bot_id text,
        filled_at timestamptz,
        PRIMARY KEY (tenant_id, channel_id, slot_id),
        FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(
      `CREATE UNIQUE INDEX slots_invite ON slots (tenant_id, invite_hash) WHERE invite_hash IS NOT NULL`,
    );
    await db.query(
      `CREATE UNIQUE INDEX slots_member_token ON slots (tenant_id, member_token_hash) WHERE member_token_hash IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX slots_principal ON slots (tenant_id, principal_id) WHERE principal_id IS NOT NULL`,
    );
    await db.query(`
      CREATE TABLE bots (
        tenant_id text NOT NULL,
        channel_id text NOT NULL,
        bot_id text NOT NULL,
        slot_id text NOT NULL,
        name text NOT NULL,
        version text NOT NULL,
        code_ref text NOT NULL,
        code text NOT NULL,
        code_hash text NOT NULL,
        manifest jsonb NOT NULL,
        manifest_hash text NOT NULL,
        state jsonb NOT NULL DEFAULT '{}'::jsonb,
        state_version integer NOT NULL DEFAULT 0,
        last_event_seq integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        removed_at timestamptz,
        PRIMARY KEY (tenant_id, channel_id, bot_id),
        FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE messages (
        tenant_id text NOT NULL,
        channel_id text NOT NULL,
        id integer NOT NULL,
        sender text NOT NULL,
        kind text NOT NULL,
        body jsonb NOT NULL,
        to_slot text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, channel_id, id),
        FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE channel_events (
        tenant_id text NOT NULL,
        channel_id text NOT NULL,
        seq integer NOT NULL,
        type text NOT NULL,
        bot_id text,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, channel_id, seq),
        FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'channel_events',
      'messages',
      'bots',
      'slots',
      'channels',
      'mcp_sessions',
      'principals',
      'tenants',
    ]) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
