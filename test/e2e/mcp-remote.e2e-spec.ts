import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

const PASSWORD = 'desktop user password';

/**
 * Claude Desktop reaches a remote server through mcp-remote (stdio ⇄ Streamable HTTP), as the README
 * says. mcp-remote runs the whole OAuth flow itself: discovery from the 401, dynamic registration,
 * its loopback callback, and the browser it opens, here a scripted one that signs in to a local
 * account and allows access.
 */
describe('mcp-remote as a bridge', () => {
  let app: TestApp;
  let configDir: string;
  let browser: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
    await app.admin(['tenant', 'create', 'ten_desktop', 'Desktop users']);
    await app.admin(['account', 'create', 'ten_desktop', 'dana'], PASSWORD);
    configDir = mkdtempSync(join(tmpdir(), 'mp-mcp-remote-'));
    // xdg-open (used by mcp-remote's `open`) runs $BROWSER with the URL when no desktop is found.
    browser = join(configDir, 'browser.sh');
    const script = resolve('test/support/scripted-browser.mjs');
    writeFileSync(browser, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$1"\n`);
    chmodSync(browser, 0o755);
  });

  afterAll(async () => {
    await app?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('signs in headless, lists the tools and creates a channel through the bridge', async () => {
    const require = createRequire(import.meta.url);
    const bin = join(dirname(require.resolve('mcp-remote/package.json')), 'dist', 'proxy.js');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, `${app.url}/mcp`, '--transport', 'http-only'],
      env: {
        ...withoutDesktop(process.env),
        MCP_REMOTE_CONFIG_DIR: configDir,
        BROWSER: browser,
        MP_BROWSER_USERNAME: 'dana',
        MP_BROWSER_PASSWORD: PASSWORD,
      },
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
  }, 60_000);
});

/** The environment without the variables that would make xdg-open look for a desktop. */
function withoutDesktop(env: NodeJS.ProcessEnv): Record<string, string> {
  const hidden = new Set(['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION']);
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !hidden.has(entry[0]),
    ),
  );
}
