import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/** Claude Desktop reaches a remote server through mcp-remote (stdio ⇄ Streamable HTTP): as the README says. */
describe('mcp-remote as a bridge', () => {
  let app: TestApp;
  let configDir: string;

  beforeAll(async () => {
    app = await startTestApp();
    configDir = mkdtempSync(join(tmpdir(), 'mp-mcp-remote-'));
  });

  afterAll(async () => {
    await app?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('lists the tools and creates a channel through the bridge', async () => {
    const require = createRequire(import.meta.url);
    const bin = join(dirname(require.resolve('mcp-remote/package.json')), 'dist', 'proxy.js');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, `${app.url}/mcp`, '--transport', 'http-only'],
      env: { ...process.env, MCP_REMOTE_CONFIG_DIR: configDir },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'desktop-like', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('create_channel');
      const result = (await client.callTool({
        name: 'create_channel',
        arguments: { name: 'via bridge', slots: ['bot:ref', 'invite:a'], bot_preset: 'GuessBot' },
      })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ view: { name: 'via bridge' } });
    } finally {
      await client.close();
    }
  }, 30_000);
});
