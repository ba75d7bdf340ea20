import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { authorizeOpen } from './oauth.js';

/**
 * A real MCP SDK client connected to the server: one agent's session. Without an access token it
 * first authorizes as a new principal (the server runs in the `open` mode in tests).
 */
export async function connectAgent(
  baseUrl: string,
  name = 'test-agent',
  accessToken?: string,
  /** The endpoint: `/mcp`, or `/` as the original's clients use. */
  path = '/mcp',
): Promise<Agent> {
  const token = accessToken ?? (await authorizeOpen(baseUrl)).accessToken;
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(path, baseUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return new Agent(client, transport, token);
}

/** A tool call that answered `isError`; `code` is the compat code the text starts with. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly text: string,
  ) {
    super(text);
  }

  get code(): string {
    return this.text.replace(`Error calling tool '${this.tool}': `, '').split(':')[0] ?? '';
  }
}

export class Agent {
  constructor(
    readonly client: Client,
    readonly transport: StreamableHTTPClientTransport,
    /** The bearer token the agent sends; raw HTTP checks reuse it. */
    readonly accessToken: string,
  ) {}

  get sessionId(): string | undefined {
    return this.transport.sessionId;
  }

  /** Calls a tool and returns its structured result, or throws ToolError for an `isError` answer. */
  async call<T = Record<string, unknown>>(
    tool: string,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    const result = (await this.client.callTool({ name: tool, arguments: args })) as CallToolResult;
    const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
    if (result.isError) throw new ToolError(tool, text);
    return result.structuredContent as T;
  }

  /** The raw result, for checks of the wire shape. */
  async raw(tool: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    return (await this.client.callTool({ name: tool, arguments: args })) as CallToolResult;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The error a tool call fails with, or a failure of the test when it succeeds. */
export async function toolError(promise: Promise<unknown>): Promise<ToolError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error('expected the tool call to fail');
}
