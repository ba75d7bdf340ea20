import { botCodeInput, botCodeResult } from '#channels';
import { defineTool } from '../tool.js';

export const getBotCodeTool = defineTool({
  name: 'get_bot_code',
  title: 'Read a bot’s code',
  description:
    'Return the exact source a bot runs, its manifest, and their hashes. code_hash is "sha256:" + the SHA-256 ' +
    'of inline_code: compare it with the bot:attach message of the channel to check that the referee is the ' +
    'code you read.',
  input: botCodeInput,
  output: botCodeResult,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run: (ctx, input) => ctx.channels.getBotCode(ctx.caller, input),
});
