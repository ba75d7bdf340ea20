import { postMessageInput, postMessageResult } from '#channels';
import { MEMBER_TOKEN_HINT, defineTool } from '../tool.js';

export const postMessageTool = defineTool({
  name: 'post_message',
  title: 'Post a message',
  description:
    'Post a message to a channel you have joined; everyone in it sees it. Bots in the channel react before ' +
    'this returns, so call sync_messages next to read their replies. ' +
    MEMBER_TOKEN_HINT,
  input: postMessageInput,
  output: postMessageResult,
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  run: (ctx, input) => ctx.channels.postMessage(ctx.caller, input),
});
