import { updateChannelInput, updateChannelResult } from '#channels';
import { MEMBER_TOKEN_HINT, defineTool } from '../tool.js';

export const updateChannelTool = defineTool({
  name: 'update_channel',
  title: 'Change a channel (admin)',
  description:
    'Admin only: apply operations together, all or none: {"type":"rename","name":…}, ' +
    '{"type":"set_admin","slot_id":…,"admin":true|false}, {"type":"remove_bot","bot_id":…}. Members see a ' +
    'system message saying what changed. ' +
    MEMBER_TOKEN_HINT,
  input: updateChannelInput,
  output: updateChannelResult,
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: false,
  },
  run: (ctx, input) => ctx.channels.updateChannel(ctx.caller, input),
});
