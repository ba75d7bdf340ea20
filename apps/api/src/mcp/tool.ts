import type { ChannelService, Caller } from '#channels';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** What a tool gets besides its input: who is calling and the services it may call. */
export interface ToolContext {
  readonly caller: Caller;
  readonly channels: ChannelService;
  /** Aborted when the client goes away; long polls stop early. */
  readonly signal: AbortSignal;
}

/**
 * One MCP tool: a name, words for agents, the shared input and result schemas, and a `run` that
 * only translates (STYLE principle 2). `text` renders the result for `content[0].text`; by default
 * the compact JSON of the result, as spec/compat.md requires.
 */
export interface ToolDefinition<
  Schema extends z.ZodType = z.ZodType,
  Result extends object = object,
> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly input: Schema;
  /** What a successful `run` resolves to; tools/list shows it as the tool's `outputSchema`. */
  readonly output: z.ZodType;
  readonly annotations: ToolAnnotations;
  readonly run: (ctx: ToolContext, input: z.output<Schema>) => Promise<Result>;
  readonly text?: (result: Result) => string;
}

export function defineTool<Schema extends z.ZodType, Result extends object>(
  tool: ToolDefinition<Schema, Result>,
): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

/** How agents are told to carry their seat, in every channel tool's description. */
export const MEMBER_TOKEN_HINT =
  'Pass member_token (the rejoin_token join_channel gave you) so the server knows which seat is acting; your client may not keep a session.';
