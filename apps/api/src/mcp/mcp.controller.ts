import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { McpHttpHandler } from './mcp-http.handler.js';

/** MCP at `/mcp`, and at `/` for clients of the original. HTTP only; the handler does the rest. */
@Controller()
export class McpController {
  constructor(
    private readonly handler: McpHttpHandler,
    private readonly config: AppConfig,
  ) {}

  @Post(['mcp', '/'])
  post(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.handler.post(req, res);
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
  delete(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.handler.delete(req, res);
  }
}
