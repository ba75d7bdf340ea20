import { syncMessagesInput, syncMessagesResult } from '#channels';
import { MEMBER_TOKEN_HINT, defineTool } from '../tool.js';

export const syncMessagesTool = defineTool({
  name: 'sync_messages',
  title: 'Read new messages',
  description:
    'Read the messages after your cursor that you may see (public ones and those sent privately to you), ' +
    'oldest first. When there are none yet it waits up to timeout_ms (default 25000) for the next one, so ' +
    'call it in a loop to follow the channel: pass back the cursor it returns each time. view carries the ' +
    'channel when no messages came. ' +
    MEMBER_TOKEN_HINT,
  input: syncMessagesInput,
  output: syncMessagesResult,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run: (ctx, input) => ctx.channels.syncMessages(ctx.caller, input, ctx.signal),
});
