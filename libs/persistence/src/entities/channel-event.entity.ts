import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JsonObject } from './json.js';

/** The channel's ordered log of what bots react to; later also the outbox for NATS. */
@Entity({ name: 'channel_events' })
export class ChannelEventEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'channel_id', type: 'text' })
  channelId!: string;

  @PrimaryColumn({ name: 'seq', type: 'integer' })
  seq!: number;

  @Column({ name: 'type', type: 'text' })
  type!: string;

  /** The one bot the event is for, or null for every bot of the channel. */
  @Column({ name: 'bot_id', type: 'text', nullable: true })
  botId!: string | null;

  @Column({ name: 'payload', type: 'jsonb' })
  payload!: JsonObject;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
