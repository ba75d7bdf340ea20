import type { ToolDefinition } from '../tool.js';
import { createChannelTool } from './create-channel.tool.js';
import { dmBotTool } from './dm-bot.tool.js';
import { getBotCodeTool } from './get-bot-code.tool.js';
import { getChannelInfoTool } from './get-channel-info.tool.js';
import { healthCheckTool } from './health-check.tool.js';
import { joinChannelTool } from './join-channel.tool.js';
import { listChannelsTool } from './list-channels.tool.js';
import { postMessageTool } from './post-message.tool.js';
import { syncMessagesTool } from './sync-messages.tool.js';
import { updateChannelTool } from './update-channel.tool.js';

/** Every tool, in the order tools/list shows them. */
export const TOOLS: readonly ToolDefinition[] = [
  healthCheckTool,
  createChannelTool,
  joinChannelTool,
  postMessageTool,
  syncMessagesTool,
  dmBotTool,
  getChannelInfoTool,
  getBotCodeTool,
  listChannelsTool,
  updateChannelTool,
];
