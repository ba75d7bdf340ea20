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
    expect(() => loadConfig({ AUTH_MODE: 'none' })).toThrow(
      /AUTH_MODE: must be "open", "local" or "oidc"/,
    );
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

describe('AUTH_MODE=oidc', () => {
  const oidc = {
    AUTH_MODE: 'oidc',
    OIDC_ISSUER_URL: 'https://login.example.com',
    OIDC_CLIENT_ID: 'multiplayer',
    OIDC_TENANT_DOMAINS: 'acme.example = ten_acme, beta.example=ten_beta',
  };

  it('reads the provider and the tenant mapping', () => {
    const config = loadConfig(oidc);
    expect(config.oidc).toMatchObject({
      issuer: 'https://login.example.com',
      clientId: 'multiplayer',
      scopes: 'openid email profile',
      tenantClaim: null,
      allowInsecureHttp: false,
    });
    expect([...(config.oidc?.tenantDomains ?? [])]).toEqual([
      ['acme.example', 'ten_acme'],
      ['beta.example', 'ten_beta'],
    ]);
  });

  it('names what is missing or malformed', () => {
    expect(() => loadConfig({ ...oidc, OIDC_CLIENT_ID: '' })).toThrow(
      /OIDC_CLIENT_ID: required when AUTH_MODE is "oidc"/,
    );
    expect(() => loadConfig({ ...oidc, OIDC_TENANT_DOMAINS: '' })).toThrow(
      /OIDC_TENANT_CLAIM or OIDC_TENANT_DOMAINS/,
    );
    expect(() => loadConfig({ ...oidc, OIDC_TENANT_DOMAINS: 'acme' })).toThrow(
      /OIDC_TENANT_DOMAINS: must be a comma-separated list/,
    );
  });
});

describe('BOT_LAUNCHER=kubernetes', () => {
  const kubernetes = {
    BOT_LAUNCHER: 'kubernetes',
    NATS_URL: 'nats://127.0.0.1:4222',
    NATS_RUNNER_SIGNING_KEY_FILE: '/run/secrets/runner-signing.nk',
    BOT_K8S_IMAGE: 'docker.io/local/mcp-bot-runner:0.1.0',
    BOT_K8S_NATS_URL: 'nats://nats.mcp-multiplayer.svc:4222',
    BOT_K8S_NATS_PEER: 'namespace:mcp-multiplayer/app.kubernetes.io/name=nats',
  };

  it('reads where pods run, the image, the sandbox and how pods reach NATS', () => {
    const config = loadConfig(kubernetes);
    expect(config.runners).toMatchObject({ perTenant: 50, memoryMb: 256 });
    expect(config.kubernetes).toEqual({
      namespace: 'mcp-multiplayer-bots',
      image: 'docker.io/local/mcp-bot-runner:0.1.0',
      runtimeClassName: 'gvisor',
      natsUrl: 'nats://nats.mcp-multiplayer.svc:4222',
      natsPeer: { namespace: 'mcp-multiplayer', label: 'app.kubernetes.io/name', value: 'nats' },
      natsPort: 4222,
      dnsPeer: { namespace: 'kube-system', label: 'k8s-app', value: 'kube-dns' },
      cpu: { request: '50m', limit: '1' },
    });
    expect(
      loadConfig({
        ...kubernetes,
        BOT_K8S_RUNTIME_CLASS: 'default',
        BOT_K8S_NATS_PEER: 'cidr:10.200.0.1/32',
      }).kubernetes,
    ).toMatchObject({ runtimeClassName: null, natsPeer: { cidr: '10.200.0.1/32' } });
  });

  it('names what is missing or malformed', () => {
    const without = (name: keyof typeof kubernetes) =>
      Object.fromEntries(Object.entries(kubernetes).filter(([key]) => key !== name));
    expect(() => loadConfig(without('BOT_K8S_IMAGE'))).toThrow(/BOT_K8S_IMAGE: BOT_LAUNCHER/);
    expect(() => loadConfig(without('BOT_K8S_NATS_PEER'))).toThrow(/BOT_K8S_NATS_PEER/);
    expect(() => loadConfig(without('NATS_RUNNER_SIGNING_KEY_FILE'))).toThrow(
      /"kubernetes" needs NATS_URL and NATS_RUNNER_SIGNING_KEY_FILE/,
    );
    expect(() => loadConfig({ ...kubernetes, BOT_K8S_NATS_PEER: 'nats' })).toThrow(
      /must be "cidr:<block>" or "namespace:<name>\/<label>=<value>"/,
    );
    expect(() => loadConfig({ ...kubernetes, BOT_K8S_DNS_PEER: '10.96.0.10' })).toThrow(
      /BOT_K8S_DNS_PEER: must be/,
    );
    expect(() => loadConfig({ ...kubernetes, BOT_K8S_NAMESPACE: 'Bots!' })).toThrow(
      /BOT_K8S_NAMESPACE/,
    );
  });
});
