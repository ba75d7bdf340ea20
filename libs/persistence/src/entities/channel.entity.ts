import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'channels' })
export class ChannelEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'id', type: 'text' })
  id!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** The id of the channel's newest message; the next one gets this plus one. */
  @Column({ name: 'last_msg_id', type: 'integer' })
  lastMsgId!: number;

  /** The sequence number of the channel's newest event. */
  @Column({ name: 'last_event_seq', type: 'integer' })
  lastEventSeq!: number;

  /** Bots attached and not removed; a message becomes a bot event only when this is above 0. */
  @Column({ name: 'active_bots', type: 'integer' })
  activeBots!: number;
}
