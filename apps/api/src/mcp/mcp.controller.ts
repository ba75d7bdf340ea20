import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Delete, Get, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { AccessGrant } from '#auth';
import { BearerAuthGuard, RequireScopes } from '../auth/bearer-auth.guard.js';
import { AppConfig } from '../config/app.config.js';
import { McpHttpHandler } from './mcp-http.handler.js';

/** The tools read and write, so MCP needs both scopes. */
const MCP_SCOPES = ['channels:read', 'channels:write'];

type AuthenticatedRequest = IncomingMessage & { user: AccessGrant };

/** MCP at `/mcp`, and at `/` for clients of the original. HTTP only; the handler does the rest. */
@Controller()
export class McpController {
  constructor(
    private readonly handler: McpHttpHandler,
    private readonly config: AppConfig,
  ) {}

  @Post(['mcp', '/'])
  @UseGuards(BearerAuthGuard)
  @RequireScopes(MCP_SCOPES)
  post(@Req() req: AuthenticatedRequest, @Res() res: ServerResponse): Promise<void> {
    return this.handler.post(req, res, req.user);
  }

  @Get('mcp')
  get(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.handler.get(req, res);
  }

  /** The root answers MCP clients as /mcp does, and tells a browser where things are. */
  @Get('/')
  root(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    if (req.headers.accept?.includes('text/event-stream')) return this.handler.get(req, res);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        name: 'MCP Multiplayer',
        mcp: `${this.config.publicUrl}/mcp`,
        rest: `${this.config.publicUrl}/api/v1`,
        openapi: `${this.config.publicUrl}/api/v1/openapi.json`,
      }),
    );
  }

  @Delete(['mcp', '/'])
  @UseGuards(BearerAuthGuard)
  @RequireScopes(MCP_SCOPES)
  delete(@Req() req: AuthenticatedRequest, @Res() res: ServerResponse): Promise<void> {
    return this.handler.delete(req, res, req.user);
  }
}
