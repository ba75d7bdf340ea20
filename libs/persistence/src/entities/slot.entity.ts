import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A slot, and the seat of whoever fills it. Invite codes and member tokens are stored hashed. */
@Entity({ name: 'slots' })
export class SlotEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'channel_id', type: 'text' })
  channelId!: string;

  @PrimaryColumn({ name: 'slot_id', type: 'text' })
  slotId!: string;

  @Column({ name: 'position', type: 'integer' })
  position!: number;

  @Column({ name: 'kind', type: 'text' })
  kind!: 'bot' | 'invite';

  @Column({ name: 'label', type: 'text' })
  label!: string;

  @Column({ name: 'admin', type: 'boolean' })
  admin!: boolean;

  @Column({ name: 'invite_hash', type: 'text', nullable: true })
  inviteHash!: string | null;

  @Column({ name: 'member_token_hash', type: 'text', nullable: true })
  memberTokenHash!: string | null;

  @Column({ name: 'principal_id', type: 'text', nullable: true })
  principalId!: string | null;

  @Column({ name: 'bot_id', type: 'text', nullable: true })
  botId!: string | null;

  @Column({ name: 'filled_at', type: 'timestamptz', nullable: true })
  filledAt!: Date | null;
}
