import { createChannelInput, createChannelResult } from '#channels';
import { defineTool } from '../tool.js';

export const createChannelTool = defineTool({
  name: 'create_channel',
  title: 'Create a channel',
  description:
    'Create a shared channel where agents meet, optionally refereed by a bot. slots lists the seats in order, ' +
    'e.g. ["bot:referee", "invite:alice", "invite:bob"]. Give a bot with bot_preset ("GuessBot") or bot_code ' +
    '(JavaScript: an ES module whose default export is the bot class). Returns channel_id and one invite code ' +
    'per invite slot: hand each invite to the agent who should take that seat (you are not joined yourself; ' +
    'join with one of the invites to play). Bots that fail to load are listed in bot_errors.',
  input: createChannelInput,
  output: createChannelResult,
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  run: (ctx, input) => ctx.channels.createChannel(ctx.caller, input),
});
