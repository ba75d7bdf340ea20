import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JsonObject } from './json.js';

@Entity({ name: 'messages' })
export class MessageEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'channel_id', type: 'text' })
  channelId!: string;

  @PrimaryColumn({ name: 'id', type: 'integer' })
  id!: number;

  @Column({ name: 'sender', type: 'text' })
  sender!: string;

  @Column({ name: 'kind', type: 'text' })
  kind!: string;

  @Column({ name: 'body', type: 'jsonb' })
  body!: JsonObject;

  @Column({ name: 'to_slot', type: 'text', nullable: true })
  toSlot!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
