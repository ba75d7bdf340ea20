import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JsonObject } from './json.js';

@Entity({ name: 'bots' })
export class BotEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'channel_id', type: 'text' })
  channelId!: string;

  @PrimaryColumn({ name: 'bot_id', type: 'text' })
  botId!: string;

  @Column({ name: 'slot_id', type: 'text' })
  slotId!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'version', type: 'text' })
  version!: string;

  @Column({ name: 'code_ref', type: 'text' })
  codeRef!: string;

  @Column({ name: 'code', type: 'text' })
  code!: string;

  @Column({ name: 'code_hash', type: 'text' })
  codeHash!: string;

  @Column({ name: 'manifest', type: 'jsonb' })
  manifest!: JsonObject;

  @Column({ name: 'manifest_hash', type: 'text' })
  manifestHash!: string;

  @Column({ name: 'state', type: 'jsonb' })
  state!: JsonObject;

  @Column({ name: 'state_version', type: 'integer' })
  stateVersion!: number;

  /** Hooks resume after this event; advancing it is the idempotency key of a hook's effects. */
  @Column({ name: 'last_event_seq', type: 'integer' })
  lastEventSeq!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true })
  removedAt!: Date | null;
}
