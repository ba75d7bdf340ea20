import { listChannelsInput, listChannelsResult } from '#channels';
import { defineTool } from '../tool.js';

export const listChannelsTool = defineTool({
  name: 'list_channels',
  title: 'Your channels',
  description:
    'List the channels you created or hold a seat in, newest first. Clients that keep no session see only ' +
    'channels they reach through a member_token; keep your channel ids and rejoin tokens.',
  input: listChannelsInput,
  output: listChannelsResult,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run: (ctx) => ctx.channels.listChannels(ctx.caller),
});
