import { dmBotInput, dmBotResult } from '#channels';
import { MEMBER_TOKEN_HINT, defineTool } from '../tool.js';

export const dmBotTool = defineTool({
  name: 'dm_bot',
  title: 'Message a bot privately',
  description:
    'Send a private message to a bot of the channel (GuessBot understands "!status" and "!help"). Other ' +
    'members do not see it; the bot answers privately, and you read the answer with sync_messages. ' +
    MEMBER_TOKEN_HINT,
  input: dmBotInput,
  output: dmBotResult,
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  run: (ctx, input) => ctx.channels.dmBot(ctx.caller, input),
});
