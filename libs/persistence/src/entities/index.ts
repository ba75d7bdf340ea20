import { BotEntity } from './bot.entity.js';
import { ChannelEventEntity } from './channel-event.entity.js';
import { ChannelEntity } from './channel.entity.js';
import { McpSessionEntity } from './mcp-session.entity.js';
import { MessageEntity } from './message.entity.js';
import { PrincipalEntity } from './principal.entity.js';
import { SlotEntity } from './slot.entity.js';
import { TenantEntity } from './tenant.entity.js';

export {
  BotEntity,
  ChannelEntity,
  ChannelEventEntity,
  McpSessionEntity,
  MessageEntity,
  PrincipalEntity,
  SlotEntity,
  TenantEntity,
};

export const ENTITIES = [
  TenantEntity,
  PrincipalEntity,
  McpSessionEntity,
  ChannelEntity,
  SlotEntity,
  BotEntity,
  MessageEntity,
  ChannelEventEntity,
];
