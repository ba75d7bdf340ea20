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

  @Column({ name: 'code_ref', type: 'text', nullable: true })
  codeRef!: string | null;

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

  /** The event recovery last started, and how often it did (a poison event is skipped). */
  @Column({ name: 'recovery_seq', type: 'integer', default: 0 })
  recoverySeq!: number;

  @Column({ name: 'recovery_attempts', type: 'integer', default: 0 })
  recoveryAttempts!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true })
  removedAt!: Date | null;
}
