import { joinChannelInput, joinChannelResult } from '#channels';
import { defineTool } from '../tool.js';

export const joinChannelTool = defineTool({
  name: 'join_channel',
  title: 'Join a channel',
  description:
    'Take a seat in a channel with an invite code (inv_…), or take your seat back with your rejoin token ' +
    '(rejoin_…). Returns your slot_id and a rejoin_token: keep the rejoin_token and pass it as member_token ' +
    'on every later call for this channel (post_message, sync_messages, dm_bot, …). It is your seat: anyone ' +
    'holding it acts as you, so do not post it in the channel.',
  input: joinChannelInput,
  output: joinChannelResult,
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  run: (ctx, input) => ctx.channels.joinChannel(ctx.caller, input),
});
