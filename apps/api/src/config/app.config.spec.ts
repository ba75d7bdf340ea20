import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './app.config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:8080',
      databaseUrl: undefined,
      dataDir: './data',
      botLauncher: 'inline',
      botHookTimeoutMs: 5000,
      botMemoryMb: 64,
      botSettleTimeoutMs: 5000,
    });
  });

  it('reads values and trims the public URL', () => {
    const config = loadConfig({
      PORT: '9000',
      PUBLIC_URL: 'https://mp.example.com/',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      DATABASE_URL: 'postgres://u@h/db',
      BOT_HOOK_TIMEOUT_MS: '',
    });
    expect(config.port).toBe(9000);
    expect(config.publicUrl).toBe('https://mp.example.com');
    expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.botHookTimeoutMs).toBe(5000);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(
      /DATABASE_URL: must be a postgres/,
    );
    expect(() => loadConfig({ BOT_LAUNCHER: 'docker' })).toThrow(/BOT_LAUNCHER/);
  });
});

describe('AUTH_MODE', () => {
  it('defaults to open on a loopback address only', () => {
    expect(loadConfig({}).authMode).toBe('open');
    expect(loadConfig({ HOST: '::1' }).authMode).toBe('open');
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_MODE: 'local' }).authMode).toBe('local');
  });

  it('refuses to start on another address until a mode is chosen, naming the setting', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/AUTH_MODE: must be set/);
    expect(() => loadConfig({ AUTH_MODE: 'none' })).toThrow(/AUTH_MODE: must be "open" or "local"/);
  });

  it('binds tokens to the canonical MCP URL and accepts the server’s other forms', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://mp.example.com/' });
    expect(config.mcpResource).toBe('https://mp.example.com/mcp');
    expect(config.resources).toEqual([
      'https://mp.example.com/mcp',
      'https://mp.example.com',
      'https://mp.example.com/api/v1',
    ]);
  });
});
