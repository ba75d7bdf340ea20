import { Logger } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { InvalidRequestError, describeInputError } from '#core';
import { z } from 'zod';
import { outputJsonSchema } from '../contracts/json-schema.js';
import { toDomainError } from '../errors/error-mapping.js';
import { DOC_RESOURCES } from './resources/docs.resources.js';
import type { ToolContext, ToolDefinition } from './tool.js';
import { TOOLS } from './tools/index.js';

const SERVER_INFO = { name: 'mcp-multiplayer', version: '0.1.0' };

const INSTRUCTIONS =
  'Shared channels for agents, refereed by bots whose code you can read. Read doc://quick-start first. ' +
  'After join_channel, pass your rejoin_token as member_token on every call for that channel.';

/**
 * tools/list entries, computed once: JSON Schema of each tool's input (what the client sends) and
 * of its structured result (MCP 2025-11-25 "Output Schema": results MUST conform to it).
 */
const TOOL_LIST: Tool[] = TOOLS.map((tool) => {
  const { $schema: _dialect, ...inputSchema } = z.toJSONSchema(tool.input, {
    io: 'input',
    unrepresentable: 'any',
  });
  const outputSchema = outputJsonSchema(tool.output);
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: { ...inputSchema, type: 'object' } as Tool['inputSchema'],
    outputSchema: { ...outputSchema, type: 'object' },
    annotations: { title: tool.title, ...tool.annotations },
  };
});

const TOOLS_BY_NAME = new Map(TOOLS.map((tool) => [tool.name, tool]));

/**
 * The SDK builds an Ajv validator per Server unless given one (about 150 µs); it is only used to
 * check elicitation answers, which this server never asks for, and it holds no per-client state.
 */
const SHARED_VALIDATOR = new AjvJsonSchemaValidator();

const logger = new Logger('McpTools');

/**
 * A fresh MCP server for one HTTP request: nothing is shared between clients, so one client's
 * request can never be answered on another's response (CVE-2026-25536).
 */
// The low-level Server on purpose: it lets us validate input with our own schemas and answer with
// the compat error text, which McpServer's built-in validation would replace.
// eslint-disable-next-line @typescript-eslint/no-deprecated
export function createMcpServer(context: Omit<ToolContext, 'signal'>): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, resources: { listChanged: false } },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: SHARED_VALIDATOR,
  });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = TOOLS_BY_NAME.get(request.params.name);
    if (!tool) {
      throw invalidParams(`Unknown tool: ${request.params.name.slice(0, 128)}`);
    }
    return callTool(tool, { ...context, signal: extra.signal }, request.params.arguments ?? {});
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: DOC_RESOURCES.map(({ uri, name, title, description }) => ({
      uri,
      name,
      title,
      description,
      mimeType: 'text/markdown',
    })),
  }));
  // No templates, but an empty list rather than -32601: the MCP Inspector, both Python SDKs and
  // mcp-remote ask for it whenever resources are offered, and show the error otherwise.
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [] }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const doc = DOC_RESOURCES.find((resource) => resource.uri === request.params.uri);
    if (!doc)
      throw invalidParams(`Unknown resource: ${request.params.uri.slice(0, 200)}`, {
        uri: request.params.uri,
      });
    return { contents: [{ uri: doc.uri, mimeType: 'text/markdown', text: doc.text }] };
  });
  return server;
}

/**
 * Runs a tool and shapes its answer as spec/compat.md says: the compact JSON of the result in
 * `content[0].text` and the same object in `structuredContent`; failures as `isError` results
 * whose text starts with the stable code. Failures carry no structured content: it would have to
 * match the tool's outputSchema, which describes results (and SDK clients check it on errors too).
 */
export async function callTool(
  tool: ToolDefinition,
  ctx: ToolContext,
  args: unknown,
): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    return errorResult(tool.name, new InvalidRequestError(describeInputError(parsed.error, args)));
  }
  try {
    const result = await tool.run(ctx, parsed.data);
    const text = tool.text ? tool.text(result) : JSON.stringify(result);
    return {
      content: [{ type: 'text', text }],
      structuredContent: result as Record<string, unknown>,
    };
  } catch (thrown) {
    const { error, unexpected } = toDomainError(thrown);
    if (unexpected)
      logger.error(`${tool.name} failed`, thrown instanceof Error ? thrown.stack : String(thrown));
    return errorResult(tool.name, error);
  }
}

/**
 * A JSON-RPC -32602 error. Not McpError: its message already carries "MCP error -32602:", which the
 * client would prefix a second time.
 */
function invalidParams(message: string, data?: unknown): Error {
  return Object.assign(new Error(message), { code: ErrorCode.InvalidParams, data });
}

function errorResult(toolName: string, error: { code: string; message: string }): CallToolResult {
  return {
    isError: true,
    content: [
      { type: 'text', text: `Error calling tool '${toolName}': ${error.code}: ${error.message}` },
    ],
  };
}
