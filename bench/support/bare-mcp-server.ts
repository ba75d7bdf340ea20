// Child process entry: the baseline of the MCP throughput benchmark. A bare MCP SDK server with
// one trivial tool on node:http, nothing else: no framework, no database, no auth.
// BARE_MCP_MODE picks the SDK's two documented shapes: `stateful` (one server and transport per
// session, kept in a map; the SDK README's main example) or `stateless` (a fresh server and
// transport per request, as simpleStatelessStreamableHttp does and as our API does).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { serveUntilStopped } from './server-process.js';

/** The one tool: answers at once, touches nothing. */
function trivialServer(): McpServer {
  const server = new McpServer({ name: 'bare-baseline', version: '1.0.0' });
  server.registerTool('ping', { description: 'Answers pong.' }, () => ({
    content: [{ type: 'text', text: 'pong' }],
  }));
  return server;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

async function stateful(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const transport = sessions.get(sessionId);
    if (!transport) return void res.writeHead(404).end();
    return transport.handleRequest(req, res);
  }
  // Without a session id only `initialize` is valid; the transport itself rejects anything else.
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    onsessioninitialized: (id) => void sessions.set(id, transport),
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await trivialServer().connect(transport);
  await transport.handleRequest(req, res);
}

async function stateless(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return void res.writeHead(405).end();
  const server = trivialServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

const handle = process.env['BARE_MCP_MODE'] === 'stateless' ? stateless : stateful;
const http = createServer((req, res) => {
  if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end();
  });
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const { port } = http.address() as AddressInfo;
serveUntilStopped(`http://127.0.0.1:${port}`, async () => {
  for (const transport of sessions.values()) await transport.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});
