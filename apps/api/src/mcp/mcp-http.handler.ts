import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SessionStore } from '#auth';
import type { AccessGrant, Principal } from '#auth';
import { ChannelService } from '#channels';
import { retryAfterOf, toDomainError } from '../errors/error-mapping.js';
import { createMcpServer } from './mcp-server.factory.js';
import type { OriginPolicy } from './origin-policy.js';

/** Largest JSON-RPC request body accepted (bot code is at most 256 KiB). */
export const MCP_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * MCP Streamable HTTP, every request self-contained (DESIGN §4): a fresh server and transport per
 * request, acting for the principal of the request's access token. Sessions are only a stored
 * hint: a missing `Mcp-Session-Id` is accepted; an unknown one, or another principal's, gets 404
 * so clients re-initialise; each request is answered on its own response.
 */
export class McpHttpHandler {
  private readonly logger = new Logger('Mcp');

  constructor(
    private readonly channels: ChannelService,
    private readonly sessions: SessionStore,
    private readonly origins: OriginPolicy,
  ) {}

  async post(req: IncomingMessage, res: ServerResponse, grant: AccessGrant): Promise<void> {
    if (!this.checkOrigin(req, res)) return;
    const body = await readJsonBody(req, MCP_BODY_LIMIT_BYTES);
    if (!body.ok) {
      sendJsonRpcError(res, body.status, body.code, body.message);
      return;
    }
    const messages: unknown[] = Array.isArray(body.value) ? body.value : [body.value];
    const initializing = messages.some(isInitialize);
    let principal: Principal | null;
    try {
      principal = await this.principalFor(grant.principal, req, res, initializing);
    } catch (error) {
      const { error: failure } = toDomainError(error);
      const retryAfter = retryAfterOf(failure);
      if (retryAfter !== null) {
        // The session store is away (the database restarting): retryable, and not a bug to log.
        res.setHeader('Retry-After', String(retryAfter));
        sendJsonRpcError(res, 503, -32603, `${failure.code}: ${failure.message}`);
        return;
      }
      this.logger.error(
        'could not resolve the session',
        error instanceof Error ? error.stack : String(error),
      );
      sendJsonRpcError(
        res,
        503,
        -32603,
        'The server cannot serve this request right now; try again.',
      );
      return;
    }
    if (!principal) {
      sendJsonRpcError(res, 404, -32001, 'Session not found: initialize a new session.');
      return;
    }

    const enableJsonResponse = negotiateAccept(req);
    const server = createMcpServer({ caller: { principal }, channels: this.channels });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse,
    });
    res.on('close', () => {
      // A finished reply has released all it held; closing would only build a "Connection
      // closed" error, stack and all, for nobody. An aborted one stops its tool's work.
      if (res.writableFinished) return;
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body.value);
  }

  /** No standalone server-to-client stream: this server never sends unsolicited messages. */
  get(req: IncomingMessage, res: ServerResponse): void {
    if (!this.checkOrigin(req, res)) return;
    res.setHeader('Allow', 'POST, DELETE');
    sendJsonRpcError(
      res,
      405,
      -32000,
      'Method not allowed: this server has no GET stream; POST requests instead.',
    );
  }

  async delete(req: IncomingMessage, res: ServerResponse, grant: AccessGrant): Promise<void> {
    if (!this.checkOrigin(req, res)) return;
    const sessionId = header(req, 'mcp-session-id');
    if (!sessionId) {
      sendJsonRpcError(res, 400, -32000, 'Mcp-Session-Id header is required to end a session.');
    } else if (
      !samePrincipal(
        await this.sessions.find(grant.principal.tenantId, sessionId),
        grant.principal,
      ) ||
      !(await this.sessions.close(grant.principal.tenantId, sessionId))
    ) {
      sendJsonRpcError(res, 404, -32001, 'Session not found.');
    } else {
      res.writeHead(200).end();
    }
  }

  private checkOrigin(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.origins.allows(header(req, 'origin'))) return true;
    this.logger.warn(`refused a request from origin ${header(req, 'origin')?.slice(0, 100)}`);
    sendJsonRpcError(res, 403, -32000, 'Forbidden: this Origin may not use the server.');
    return false;
  }

  /**
   * The token's principal; on initialize a new session of it. A session id that is unknown or
   * belongs to another principal yields null (404).
   */
  private async principalFor(
    principal: Principal,
    req: IncomingMessage,
    res: ServerResponse,
    initializing: boolean,
  ): Promise<Principal | null> {
    if (initializing) {
      res.setHeader('Mcp-Session-Id', await this.sessions.open(principal));
      return principal;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (
      sessionId &&
      !samePrincipal(await this.sessions.find(principal.tenantId, sessionId), principal)
    ) {
      return null;
    }
    return principal;
  }
}

function samePrincipal(a: Principal | null, b: Principal): boolean {
  return a !== null && a.tenantId === b.tenantId && a.id === b.id;
}

/**
 * Replies in SSE when the client accepts it, else in JSON (spec/compat.md: the original's clients
 * parse SSE). The SDK transport insists on both media types, so the header is completed to match.
 */
function negotiateAccept(req: IncomingMessage): boolean {
  const accept = header(req, 'accept') ?? '';
  const sse = accept.includes('text/event-stream');
  req.headers['accept'] = 'application/json, text/event-stream';
  return !sse;
}

function isInitialize(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    'method' in message &&
    message.method === 'initialize'
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

type BodyResult =
  { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit)
      return {
        ok: false,
        status: 413,
        code: -32600,
        message: `Request body larger than ${limit} bytes.`,
      };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return {
      ok: false,
      status: 400,
      code: -32700,
      message: 'Parse error: the body is not valid JSON.',
    };
  }
}

function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
