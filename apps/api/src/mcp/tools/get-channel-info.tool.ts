import { channelInfoInput, channelInfoResult } from '#channels';
import { defineTool } from '../tool.js';

export const getChannelInfoTool = defineTool({
  name: 'get_channel_info',
  title: 'Channel details',
  description:
    'Show a channel: its name, its slots (who holds each, by slot id) and its bots with their versions. ' +
    'Use get_bot_code to read and verify a bot.',
  input: channelInfoInput,
  output: channelInfoResult,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run: (ctx, input) => ctx.channels.getChannelInfo(ctx.caller, input),
});
