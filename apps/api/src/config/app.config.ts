import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { FairShareSettings } from '#bots';

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Every environment variable the API reads; each is documented in the README's table. */
const environment = z.object({
  PORT: int(0, 65_535, 8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.url({ error: 'must be an absolute http(s) URL' }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  NATS_URL: z
    .string()
    .regex(
      /^(nats|tls):\/\/[^\s]+$/,
      'must be a nats:// or tls:// URL (comma-separated for a cluster)',
    )
    .optional(),
  NATS_CREDS_FILE: z.string().min(1).optional(),
  NATS_RUNNER_SIGNING_KEY_FILE: z.string().min(1).optional(),
  NATS_RUNNER_ACCOUNT: z
    .string()
    .regex(/^A[A-Z2-7]{55}$/, 'must be an account public key (56 characters starting with A)')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DB_POOL_SIZE: int(1, 200, 10),
  ALLOWED_ORIGINS: z.string().default(''),
  BOT_LAUNCHER: z
    .enum(['inline', 'process', 'kubernetes'], {
      error: 'must be "inline", "process" or "kubernetes"',
    })
    .default('inline'),
  BOT_K8S_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes namespace name')
    .default('mcp-multiplayer-bots'),
  BOT_K8S_IMAGE: z.string().min(1).optional(),
  BOT_K8S_RUNTIME_CLASS: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a RuntimeClass name, or "default"')
    .default('gvisor'),
  BOT_K8S_NATS_URL: z.string().min(1).optional(),
  BOT_K8S_NATS_PEER: z.string().min(1).optional(),
  BOT_K8S_DNS_PEER: z.string().min(1).default('namespace:kube-system/k8s-app=kube-dns'),
  BOT_K8S_CPU_REQUEST: z
    .string()
    .regex(/^\d+(\.\d+)?m?$/, 'must be a CPU quantity')
    .default('50m'),
  BOT_K8S_CPU_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?m?$/, 'must be a CPU quantity')
    .default('1'),
  BOT_SANDBOX: z.enum(['none', 'gvisor'], { error: 'must be "none" or "gvisor"' }).default('none'),
  BOT_RUNNER_IDLE_SECONDS: int(1, 86_400, 300),
  BOT_RUNNERS_PER_TENANT: int(1, 10_000, 50),
  BOT_RUNNER_CREDENTIALS_TTL_SECONDS: int(60, 7 * 86_400, 3_600),
  BOT_RUNNER_MEMORY_MB: int(32, 65_536, 256),
  BOT_WORKSPACE_DIR: z.string().min(1).optional(),
  BOT_WORKSPACE_MAX_BYTES: int(0, 1024 * 1024 * 1024, 1024 * 1024),
  BOT_HOOK_TIMEOUT_MS: int(10, 60_000, 5_000),
  BOT_MEMORY_MB: int(8, 4_096, 64),
  BOT_OUTPUT_MAX_BYTES: int(1_024, 16 * 1024 * 1024, 256 * 1024),
  BOT_SETTLE_TIMEOUT_MS: int(0, 60_000, 5_000),
  BOT_HOOKS_PER_PROCESS: int(1, 1_024, 32),
  BOT_HOOKS_PER_TENANT: int(1, 1_024, 8),
  BOT_NEW_HOOKS_PER_TENANT: int(1, 1_024, Math.max(1, availableParallelism() - 1)),
  BOT_HEAVY_HOOKS_PER_PROCESS: int(1, 1_024, Math.max(1, availableParallelism() - 1)),
  BOT_HEAVY_HOOKS_PER_TENANT: int(1, 1_024, 1),
  BOT_HEAVY_HOOK_MS: int(1, 60_000, 50),
  BOT_TENANT_HOOK_CPU_MS_PER_MINUTE: int(100, 3_600_000, 20_000),
  BOT_TENANT_HOOK_CPU_BURST_MS: int(100, 3_600_000, 2_000),
  BOT_EGRESS_TIMEOUT_MS: int(100, 60_000, 5_000),
  BOT_EGRESS_MAX_BYTES: int(1_024, 64 * 1024 * 1024, 1024 * 1024),
  BOT_EGRESS_ALLOW_LOOPBACK: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .default('false'),
  BOT_EGRESS_CA_FILE: z.string().optional(),
  MESSAGE_RATE_PER_MINUTE: int(1, 1_000_000, 120),
  MESSAGE_RATE_BURST: int(1, 1_000_000, 30),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  AUTH_MODE: z
    .enum(['open', 'local', 'oidc'], { error: 'must be "open", "local" or "oidc"' })
    .optional(),
  OIDC_ISSUER_URL: z.url({ error: 'must be the provider’s issuer URL' }).optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_SCOPES: z.string().default('openid email profile'),
  OIDC_TENANT_CLAIM: z.string().optional(),
  OIDC_TENANT_DOMAINS: z
    .string()
    .regex(
      /^\s*[a-z0-9.-]+\s*=\s*[A-Za-z0-9_-]+\s*(,\s*[a-z0-9.-]+\s*=\s*[A-Za-z0-9_-]+\s*)*$/,
      'must be a comma-separated list of domain=tenant_id',
    )
    .optional(),
  OIDC_ALLOW_INSECURE_HTTP: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .default('false'),
  ACCESS_TOKEN_TTL_SECONDS: int(60, 86_400, 3_600),
  REFRESH_TOKEN_TTL_DAYS: int(1, 365, 30),
  REFRESH_GRACE_SECONDS: int(0, 300, 30),
  AUTH_CODE_TTL_SECONDS: int(1, 600, 60),
  SIGNING_KEY_ROTATION_DAYS: int(1, 365, 30),
  CLIENT_UNUSED_EXPIRY_DAYS: int(1, 3_650, 30),
  MCP_SESSION_TTL_HOURS: int(1, 24 * 365, 24),
  OAUTH_RATE_PER_MINUTE: int(1, 1_000_000, 60),
  OAUTH_RATE_BURST: int(1, 1_000_000, 30),
  TRUST_PROXY: int(0, 10, 0),
  CLIENT_METADATA_ALLOW_LOOPBACK: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .default('false'),
  OAUTH_EXTRA_CA_FILE: z.string().optional(),
});

/** Hosts on which the server is reachable from this machine only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** The API's configuration, parsed once at boot (STYLE principle 7). */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  /** The server's public base URL, without a trailing slash. */
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  /** NATS with JetStream; unset: the in-process event bus (one API process only). */
  readonly natsUrl: string | undefined;
  /** The API's NATS credentials file, when the server requires credentials. */
  readonly natsCredsFile: string | undefined;
  readonly dataDir: string;
  readonly dbPoolSize: number;
  /** Origins allowed besides the public URL's and loopback ones (DNS-rebinding guard). */
  readonly allowedOrigins: readonly string[];
  readonly botLauncher: 'inline' | 'process' | 'kubernetes';
  /** How runners outside the API process are run (issue 4 item 4); null for `inline`. */
  readonly runners: RunnerFleetSettings | null;
  /** Runner pods (issue 13, item 3); null unless BOT_LAUNCHER=kubernetes. */
  readonly kubernetes: KubernetesSettings | null;
  /** Each bot's scratch area: `<dir>/<tenant>/<channel>/<bot>`, at most `maxBytes` in all. */
  readonly botWorkspace: { readonly dir: string; readonly maxBytes: number };
  readonly botHookTimeoutMs: number;
  readonly botMemoryMb: number;
  readonly botOutputMaxBytes: number;
  readonly botSettleTimeoutMs: number;
  /** How inline hooks are shared between tenants (issue 11, item 5). */
  readonly botFairShare: FairShareSettings;
  /** ctx.fetch limits (issue 4 item 5); loopback only for tests; extra CAs for private PKI. */
  readonly botEgress: {
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly allowLoopback: boolean;
    readonly caFile: string | undefined;
  };
  readonly messageRatePerMinute: number;
  readonly messageRateBurst: number;
  readonly logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /**
   * How people sign in at the authorize step (DESIGN §8): `open` approves every grant for a fresh
   * anonymous principal (demos, and the default on loopback only); `local` uses accounts.
   */
  readonly authMode: 'open' | 'local' | 'oidc';
  /** The upstream OpenID Connect provider, when AUTH_MODE=oidc. */
  readonly oidc: OidcSettings | null;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly refreshGraceSeconds: number;
  readonly authCodeTtlSeconds: number;
  readonly signingKeyRotationSeconds: number;
  readonly clientUnusedExpirySeconds: number;
  /** How long an MCP session id is honoured after `initialize`. */
  readonly mcpSessionTtlSeconds: number;
  /** Calls per minute (and at once) to each OAuth endpoint, per address and per client. */
  readonly oauthRatePerMinute: number;
  readonly oauthRateBurst: number;
  /** Reverse proxies in front of the server whose X-Forwarded-For is believed (0: none). */
  readonly trustProxyHops: number;
  /** For tests only: fetch client metadata documents from loopback addresses too. */
  readonly clientMetadataAllowLoopback: boolean;
  /** PEM file of extra certificate authorities trusted when fetching client metadata documents. */
  readonly oauthExtraCaFile: string | undefined;

  constructor(values: z.infer<typeof environment>) {
    this.port = values.PORT;
    this.host = values.HOST;
    this.publicUrl = (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/+$/, '');
    this.databaseUrl = values.DATABASE_URL;
    this.natsUrl = values.NATS_URL;
    this.natsCredsFile = values.NATS_CREDS_FILE;
    this.dataDir = values.DATA_DIR;
    this.dbPoolSize = values.DB_POOL_SIZE;
    this.allowedOrigins = values.ALLOWED_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean);
    this.botLauncher = values.BOT_LAUNCHER;
    this.runners = values.BOT_LAUNCHER === 'inline' ? null : runnerFleetSettings(values);
    this.kubernetes = values.BOT_LAUNCHER === 'kubernetes' ? kubernetesSettings(values) : null;
    this.botWorkspace = {
      dir: values.BOT_WORKSPACE_DIR ?? `${values.DATA_DIR}/workspaces`,
      maxBytes: values.BOT_WORKSPACE_MAX_BYTES,
    };
    this.botHookTimeoutMs = values.BOT_HOOK_TIMEOUT_MS;
    this.botMemoryMb = values.BOT_MEMORY_MB;
    this.botOutputMaxBytes = values.BOT_OUTPUT_MAX_BYTES;
    this.botSettleTimeoutMs = values.BOT_SETTLE_TIMEOUT_MS;
    this.botFairShare = {
      perProcess: values.BOT_HOOKS_PER_PROCESS,
      perTenant: values.BOT_HOOKS_PER_TENANT,
      newPerTenant: values.BOT_NEW_HOOKS_PER_TENANT,
      heavyPerProcess: values.BOT_HEAVY_HOOKS_PER_PROCESS,
      heavyPerTenant: values.BOT_HEAVY_HOOKS_PER_TENANT,
      heavyHookMs: values.BOT_HEAVY_HOOK_MS,
      tenantCpuMsPerMinute: values.BOT_TENANT_HOOK_CPU_MS_PER_MINUTE,
      tenantCpuBurstMs: values.BOT_TENANT_HOOK_CPU_BURST_MS,
    };
    this.botEgress = {
      timeoutMs: values.BOT_EGRESS_TIMEOUT_MS,
      maxResponseBytes: values.BOT_EGRESS_MAX_BYTES,
      allowLoopback: values.BOT_EGRESS_ALLOW_LOOPBACK === 'true',
      caFile: values.BOT_EGRESS_CA_FILE,
    };
    this.messageRatePerMinute = values.MESSAGE_RATE_PER_MINUTE;
    this.messageRateBurst = values.MESSAGE_RATE_BURST;
    this.logLevel = values.LOG_LEVEL;
    const authMode = values.AUTH_MODE ?? (LOOPBACK_HOSTS.has(values.HOST) ? 'open' : undefined);
    if (!authMode) {
      throw new ConfigError(
        `Invalid configuration:\n  AUTH_MODE: must be set when HOST (${values.HOST}) is not a loopback address; choose "local" (accounts), "oidc" (an upstream provider), or "open" to let anyone in.`,
      );
    }
    this.authMode = authMode;
    this.oidc = authMode === 'oidc' ? oidcSettings(values) : null;
    this.accessTokenTtlSeconds = values.ACCESS_TOKEN_TTL_SECONDS;
    this.refreshTokenTtlSeconds = values.REFRESH_TOKEN_TTL_DAYS * DAY_SECONDS;
    this.refreshGraceSeconds = values.REFRESH_GRACE_SECONDS;
    this.authCodeTtlSeconds = values.AUTH_CODE_TTL_SECONDS;
    this.signingKeyRotationSeconds = values.SIGNING_KEY_ROTATION_DAYS * DAY_SECONDS;
    this.clientUnusedExpirySeconds = values.CLIENT_UNUSED_EXPIRY_DAYS * DAY_SECONDS;
    this.mcpSessionTtlSeconds = values.MCP_SESSION_TTL_HOURS * 3600;
    this.oauthRatePerMinute = values.OAUTH_RATE_PER_MINUTE;
    this.oauthRateBurst = values.OAUTH_RATE_BURST;
    this.trustProxyHops = values.TRUST_PROXY;
    this.clientMetadataAllowLoopback = values.CLIENT_METADATA_ALLOW_LOOPBACK === 'true';
    this.oauthExtraCaFile = values.OAUTH_EXTRA_CA_FILE;
  }

  /** The canonical MCP URL: the resource tokens are bound to (RFC 8707), no trailing slash. */
  get mcpResource(): string {
    return `${this.publicUrl}/mcp`;
  }

  /** Every resource indicator accepted for this server; the canonical one first. */
  get resources(): readonly string[] {
    return [this.mcpResource, this.publicUrl, `${this.publicUrl}/api/v1`];
  }
}

const DAY_SECONDS = 86_400;

/** How the `process` launcher runs bot runners. */
export interface RunnerFleetSettings {
  /** `gvisor`: each runner inside `runsc`, seeing only what it needs of the filesystem. */
  readonly sandbox: 'none' | 'gvisor';
  /** A runner with no event for this long stops; the next event starts it again. */
  readonly idleSeconds: number;
  /** Runners of one tenant running at once; the least recently busy one stops for a new one. */
  readonly perTenant: number;
  /** How long the NATS credentials minted for one runner start are valid. */
  readonly credentialsTtlSeconds: number;
  /** Hard memory limit of one runner process (with its gVisor sandbox), above the isolate's. */
  readonly memoryMb: number;
  /** The account key (or signing key) seed that signs runner credentials. */
  readonly signingKeyFile: string;
  readonly account: string | undefined;
}

function runnerFleetSettings(values: z.infer<typeof environment>): RunnerFleetSettings {
  if (!values.NATS_URL || !values.NATS_RUNNER_SIGNING_KEY_FILE) {
    throw new ConfigError(
      `Invalid configuration:\n  BOT_LAUNCHER: "${values.BOT_LAUNCHER}" needs NATS_URL and NATS_RUNNER_SIGNING_KEY_FILE (runners receive events over NATS with credentials for their own channel only).`,
    );
  }
  if (values.BOT_RUNNER_MEMORY_MB <= values.BOT_MEMORY_MB) {
    throw new ConfigError(
      `Invalid configuration:\n  BOT_RUNNER_MEMORY_MB: must be above BOT_MEMORY_MB (${values.BOT_MEMORY_MB}): a runner holds the bot's isolate and Node itself (about 60 MiB).`,
    );
  }
  return {
    sandbox: values.BOT_SANDBOX,
    idleSeconds: values.BOT_RUNNER_IDLE_SECONDS,
    perTenant: values.BOT_RUNNERS_PER_TENANT,
    credentialsTtlSeconds: values.BOT_RUNNER_CREDENTIALS_TTL_SECONDS,
    memoryMb: values.BOT_RUNNER_MEMORY_MB,
    signingKeyFile: values.NATS_RUNNER_SIGNING_KEY_FILE,
    account: values.NATS_RUNNER_ACCOUNT,
  };
}

/** Where and how runner pods run (BOT_LAUNCHER=kubernetes). */
export interface KubernetesSettings {
  readonly namespace: string;
  /** The runner image (bots/runtime-image). */
  readonly image: string;
  /** The pods' RuntimeClass (gVisor's by default); null ("default"): the cluster's default runtime. */
  readonly runtimeClassName: string | null;
  /** The NATS URL as pods reach it. */
  readonly natsUrl: string;
  /**
   * Who the pods' NetworkPolicy lets them reach for NATS: `cidr:<block>`, or
   * `namespace:<name>/<label>=<value>` for NATS pods in the cluster.
   */
  readonly natsPeer: KubernetesPeer;
  readonly natsPort: number;
  /** Who answers the pods' DNS, in the same form: the cluster's DNS pods by default. */
  readonly dnsPeer: KubernetesPeer;
  readonly cpu: { readonly request: string; readonly limit: string };
}

export type KubernetesPeer =
  | { readonly cidr: string }
  | { readonly namespace: string; readonly label: string; readonly value: string };

function kubernetesSettings(values: z.infer<typeof environment>): KubernetesSettings {
  const fail = (message: string): never => {
    throw new ConfigError(`Invalid configuration:\n  ${message}`);
  };
  const image =
    values.BOT_K8S_IMAGE ??
    fail('BOT_K8S_IMAGE: BOT_LAUNCHER "kubernetes" needs the runner image (bots/runtime-image).');
  const natsUrl = values.BOT_K8S_NATS_URL ?? values.NATS_URL ?? '';
  let port = 4222;
  try {
    port = Number(new URL(natsUrl).port || 4222);
  } catch {
    fail(
      'BOT_K8S_NATS_URL: must be the NATS URL pods dial, e.g. nats://nats.mcp-multiplayer.svc:4222.',
    );
  }
  return {
    namespace: values.BOT_K8S_NAMESPACE,
    image,
    runtimeClassName:
      values.BOT_K8S_RUNTIME_CLASS === 'default' ? null : values.BOT_K8S_RUNTIME_CLASS,
    natsUrl,
    natsPeer: parsePeer(
      values.BOT_K8S_NATS_PEER ??
        fail(
          'BOT_K8S_NATS_PEER: name who serves NATS to the pods: "cidr:10.0.0.5/32" or "namespace:mcp-multiplayer/app.kubernetes.io/name=nats".',
        ),
      'BOT_K8S_NATS_PEER',
    ),
    natsPort: port,
    dnsPeer: parsePeer(values.BOT_K8S_DNS_PEER, 'BOT_K8S_DNS_PEER'),
    cpu: { request: values.BOT_K8S_CPU_REQUEST, limit: values.BOT_K8S_CPU_LIMIT },
  };
}

function parsePeer(text: string, setting: string): KubernetesPeer {
  const cidr = /^cidr:([0-9a-fA-F:.]+\/\d{1,3})$/.exec(text);
  if (cidr?.[1]) return { cidr: cidr[1] };
  const selected =
    /^namespace:([a-z0-9-]{1,63})\/([A-Za-z0-9./_-]{1,253})=([A-Za-z0-9._-]{0,63})$/.exec(text);
  if (selected?.[1] && selected[2] && selected[3] !== undefined) {
    return { namespace: selected[1], label: selected[2], value: selected[3] };
  }
  throw new ConfigError(
    `Invalid configuration:\n  ${setting}: must be "cidr:<block>" or "namespace:<name>/<label>=<value>".`,
  );
}

/** The upstream provider people sign in with when AUTH_MODE=oidc. */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly scopes: string;
  /** A claim naming the tenant, checked first. */
  readonly tenantClaim: string | null;
  /** Verified email domains and their tenants. */
  readonly tenantDomains: ReadonlyMap<string, string>;
  /** Tests only: talk to a provider over plain http. */
  readonly allowInsecureHttp: boolean;
}

function oidcSettings(values: z.infer<typeof environment>): OidcSettings {
  const missing = (['OIDC_ISSUER_URL', 'OIDC_CLIENT_ID'] as const).filter((name) => !values[name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n  ${missing.map((name) => `${name}: required when AUTH_MODE is "oidc"`).join('\n  ')}`,
    );
  }
  const domains = new Map<string, string>();
  for (const pair of (values.OIDC_TENANT_DOMAINS ?? '').split(',').filter((p) => p.trim())) {
    const [domain = '', tenant = ''] = pair.split('=').map((part) => part.trim());
    domains.set(domain.toLowerCase(), tenant);
  }
  if (!values.OIDC_TENANT_CLAIM && domains.size === 0) {
    throw new ConfigError(
      'Invalid configuration:\n  OIDC_TENANT_CLAIM or OIDC_TENANT_DOMAINS: one is required to place people in tenants',
    );
  }
  return {
    issuer: values.OIDC_ISSUER_URL ?? '',
    clientId: values.OIDC_CLIENT_ID ?? '',
    clientSecret: values.OIDC_CLIENT_SECRET,
    scopes: values.OIDC_SCOPES,
    tenantClaim: values.OIDC_TENANT_CLAIM ?? null,
    tenantDomains: domains,
    allowInsecureHttp: values.OIDC_ALLOW_INSECURE_HTTP === 'true',
  };
}

/** A setting that cannot be used; the message names the variable and what it must be. */
export class ConfigError extends Error {}

/**
 * Parses the environment. Empty strings count as unset, so `FOO=` in a shell or a chart does
 * not turn into a bad value.
 */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environment.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return new AppConfig(parsed.data);
}
