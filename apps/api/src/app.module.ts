import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Inject, Logger, Module, Optional } from '@nestjs/common';
import { EgressFetcher, IsolateSandbox } from '#bot-sandbox';
import type { DynamicModule, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { AccessTokens, CachingSessionStore, OAuthStore, PrincipalStore, SessionStore } from '#auth';
import { BotEffects, BotLauncher, BotService, InlineBotLauncher, RunnerFleet } from '#bots';
import type { RunnerMechanism, RunnerOwnership } from '#bots';
import { BotHost, CachingChannelStore, ChannelService, ChannelStore, OutboxRelay } from '#channels';
import { TokenBucketLimiter } from '#core';
import { EventBus, InProcessEventBus, NatsEventBus, NatsRunnerHub } from '#events';
import {
  Database,
  TypeOrmChannelStore,
  TypeOrmEventOutbox,
  TypeOrmPrincipalStore,
  TypeOrmSessionStore,
} from '#persistence';
import { ChildProcessRunners } from './bots/child-process.runners.js';
import { gvisorRunnerCommand, plainRunnerCommand } from './bots/runner-command.js';
import { KubernetesRunners } from './bots/kubernetes/kubernetes.runners.js';
import { RunnerLeases } from './bots/kubernetes/runner-leases.js';
import { RunnerMemoryLimit } from './bots/runner-memory.js';
import { AppConfig } from './config/app.config.js';
import type { KubernetesPeer } from './config/app.config.js';
import { HealthController } from './health/health.controller.js';
import { McpController } from './mcp/mcp.controller.js';
import { McpHttpHandler } from './mcp/mcp-http.handler.js';
import { OriginPolicy } from './mcp/origin-policy.js';
import { AuthorizeController } from './oauth/authorize.controller.js';
import { OAuthMetadataController } from './oauth/oauth-metadata.controller.js';
import { OAuthController } from './oauth/oauth.controller.js';
import { oauthProviders } from './oauth/oauth.providers.js';
import { ChannelsController } from './rest/channels.controller.js';
import { OpenApiController } from './rest/openapi.controller.js';
import { ProblemFilter } from './rest/problem.filter.js';

/**
 * The composition root: picks an adapter for each port from the configuration (DESIGN §2) and
 * wires the services. Libraries stay free of Nest; everything is assembled here.
 */
@Module({})
export class AppModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('App');

  private housekeeping: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly database: Database,
    private readonly launcher: BotLauncher,
    private readonly bots: BotService,
    private readonly tokens: AccessTokens,
    private readonly oauth: OAuthStore,
    private readonly sessions: SessionStore,
    private readonly bus: EventBus,
    @Optional() @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
    @Optional() @Inject(NatsRunnerHub) private readonly hub: NatsRunnerHub | null,
  ) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [
        McpController,
        ChannelsController,
        OpenApiController,
        HealthController,
        OAuthMetadataController,
        OAuthController,
        AuthorizeController,
      ],
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: APP_FILTER, useClass: ProblemFilter },
        {
          provide: Database,
          useFactory: () =>
            Database.open({
              url: config.databaseUrl,
              dataDir: config.dataDir,
              poolSize: config.dbPoolSize,
              logger: new Logger('Database'),
            }),
        },
        {
          // get_channel_info's read is kept in memory until the channel changes (any replica).
          provide: ChannelStore,
          useFactory: (db: Database, bus: EventBus) =>
            new CachingChannelStore(new TypeOrmChannelStore(db), bus),
          inject: [Database, EventBus],
        },
        {
          provide: SessionStore,
          useFactory: (db: Database) => new CachingSessionStore(new TypeOrmSessionStore(db)),
          inject: [Database],
        },
        {
          provide: PrincipalStore,
          useFactory: (db: Database) => new TypeOrmPrincipalStore(db),
          inject: [Database],
        },
        {
          provide: EventBus,
          useFactory: () =>
            config.natsUrl
              ? NatsEventBus.connect({
                  servers: config.natsUrl,
                  credentials: config.natsCredsFile
                    ? readFileSync(config.natsCredsFile, 'utf8')
                    : undefined,
                  name: 'mp-api',
                  logger: new Logger('Events'),
                })
              : new InProcessEventBus(),
        },
        {
          // The runners' side of NATS: credentials, durable consumers, their requests.
          provide: NatsRunnerHub,
          useFactory: () =>
            config.runners && config.natsUrl
              ? NatsRunnerHub.connect({
                  servers: config.natsUrl,
                  credentials: config.natsCredsFile
                    ? readFileSync(config.natsCredsFile, 'utf8')
                    : undefined,
                  signingKeyFile: config.runners.signingKeyFile,
                  account: config.runners.account,
                  ackWaitMs: config.botHookTimeoutMs + ACK_MARGIN_MS,
                  logger: new Logger('Runners'),
                })
              : null,
        },
        {
          provide: BotEffects,
          useFactory: (store: ChannelStore, bus: EventBus) =>
            new BotEffects(store, bus, new Logger('Bots')),
          inject: [ChannelStore, EventBus],
        },
        {
          // Where hooks run: runner processes when configured, else isolates in this process.
          provide: BotLauncher,
          useFactory: (
            store: ChannelStore,
            effects: BotEffects,
            hub: NatsRunnerHub | null,
            relay: OutboxRelay | null,
          ): BotLauncher => {
            const workspaceRoot = config.botWorkspace.maxBytes > 0 ? config.botWorkspace.dir : null;
            if (!hub || !config.runners || !config.natsUrl) {
              return new InlineBotLauncher(
                store,
                effects,
                new IsolateSandbox(
                  {
                    memoryMb: config.botMemoryMb,
                    timeoutMs: config.botHookTimeoutMs,
                    maxOutputBytes: config.botOutputMaxBytes,
                    workspaceBytes: config.botWorkspace.maxBytes,
                  },
                  undefined,
                  new EgressFetcher({
                    timeoutMs: config.botEgress.timeoutMs,
                    maxResponseBytes: config.botEgress.maxResponseBytes,
                    allowLoopback: config.botEgress.allowLoopback,
                    ca: config.botEgress.caFile
                      ? readFileSync(config.botEgress.caFile, 'utf8')
                      : undefined,
                  }),
                ),
                { workspaceRoot, fairShare: config.botFairShare },
                new Logger('Bots'),
              );
            }
            const logger = new Logger('Runners');
            const { mechanism, ownership } = runnerMechanism(config, store, logger);
            return new RunnerFleet(hub, mechanism, {
              perTenant: config.runners.perTenant,
              credentialsTtlSeconds: config.runners.credentialsTtlSeconds,
              nudge: () => relay?.nudge(),
              // The hook limit, then the API's answer to the effects (a 10 s request), and slack.
              stallMs: config.botHookTimeoutMs + STALL_MARGIN_MS,
              quarantine: (address, reason) => effects.quarantineNext(address, reason),
              ...(ownership ? { ownership } : {}),
              logger,
            });
          },
          inject: [ChannelStore, BotEffects, NatsRunnerHub, OutboxRelay],
        },
        {
          provide: BotService,
          useFactory: (
            store: ChannelStore,
            launcher: BotLauncher,
            effects: BotEffects,
            bus: EventBus,
          ) =>
            new BotService(store, launcher, effects, bus, {
              settleTimeoutMs: config.botSettleTimeoutMs,
              workspaceRoot: config.botWorkspace.maxBytes > 0 ? config.botWorkspace.dir : null,
            }),
          inject: [ChannelStore, BotLauncher, BotEffects, EventBus],
        },
        { provide: BotHost, useExisting: BotService },
        {
          provide: ChannelService,
          useFactory: (store: ChannelStore, bots: BotHost, bus: EventBus) =>
            new ChannelService(
              store,
              bots,
              bus,
              new TokenBucketLimiter(config.messageRatePerMinute, config.messageRateBurst),
            ),
          inject: [ChannelStore, BotHost, EventBus],
        },
        {
          provide: McpHttpHandler,
          useFactory: (channels: ChannelService, sessions: SessionStore) =>
            new McpHttpHandler(
              channels,
              sessions,
              new OriginPolicy(config.publicUrl, config.allowedOrigins),
            ),
          inject: [ChannelService, SessionStore],
        },
        {
          // Publishes committed channel events to NATS; without NATS nothing consumes them yet.
          provide: OutboxRelay,
          useFactory: (db: Database, bus: EventBus) =>
            config.natsUrl
              ? new OutboxRelay(
                  new TypeOrmEventOutbox(db),
                  bus,
                  { idleMs: 100 },
                  new Logger('Outbox'),
                )
              : null,
          inject: [Database, EventBus],
        },
        ...oauthProviders(config),
      ],
    };
  }

  /**
   * A signing key exists before the first request; bots with uncommitted events (the server
   * stopped mid-hook) resume in the background; hourly, keys rotate, unused clients expire and
   * old MCP sessions end.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.authMode === 'open') {
      this.logger.warn(
        'AUTH_MODE=open: every authorization is approved for a new anonymous principal (demo mode).',
      );
    }
    await this.tokens.rotate();
    this.relay?.start();
    this.hub?.serve({
      load: (address) => this.bots.runnerLoad(address),
      effects: (address, request) => this.bots.runnerCommit(address, request),
    });
    this.bots
      .recover()
      .catch((error: unknown) => this.logger.error(`bot recovery failed: ${String(error)}`));
    this.housekeeping = setInterval(() => void this.tidy(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.housekeeping);
    await this.launcher.close();
    await this.hub?.close();
    await this.relay?.stop();
    await this.bus.close();
    await this.database.close();
  }

  private async tidy(): Promise<void> {
    try {
      await this.tokens.rotate();
      const before = new Date(Date.now() - this.config.clientUnusedExpirySeconds * 1000);
      const expired = await this.oauth.deleteUnusedClients(before);
      if (expired > 0) this.logger.log(`expired ${expired} unused OAuth clients`);
      const ended = await this.sessions.expire(
        new Date(Date.now() - this.config.mcpSessionTtlSeconds * 1000),
      );
      if (ended > 0) this.logger.log(`ended ${ended} MCP sessions past their time`);
    } catch (error) {
      this.logger.error(`housekeeping failed: ${String(error)}`);
    }
  }
}

const HOUSEKEEPING_MS = 60 * 60 * 1000;
/** A runner's event comes back this long after its hook's limit if the runner went away. */
const ACK_MARGIN_MS = 5_000;
/** How long a replica's claim on a bot's pod lasts unless renewed (renewed every third of it). */
const LEASE_SECONDS = 15;
/** A runner holding one event this long past the hook limit is stuck (RunnerFleet). */
const STALL_MARGIN_MS = 15_000;

/**
 * How runners are started: child processes (plain or under gVisor), or pods, which API replicas
 * share out by Leases.
 */
function runnerMechanism(
  config: AppConfig,
  store: ChannelStore,
  logger: Logger,
): { mechanism: RunnerMechanism; ownership?: RunnerOwnership } {
  const runners = config.runners;
  const natsUrl = config.natsUrl;
  if (!runners || !natsUrl) throw new Error('runners need BOT_LAUNCHER and NATS_URL');
  if (config.kubernetes) {
    const kubeConfig = new KubeConfig();
    // In a pod: its service account; elsewhere: KUBECONFIG or ~/.kube/config.
    kubeConfig.loadFromDefault();
    const k8s = config.kubernetes;
    const ownership = new RunnerLeases(kubeConfig, {
      namespace: k8s.namespace,
      identity: `${hostname()}-${process.pid}`,
      durationSeconds: LEASE_SECONDS,
      logger,
    });
    const mechanism = new KubernetesRunners(kubeConfig, {
      namespace: k8s.namespace,
      image: k8s.image,
      runtimeClassName: k8s.runtimeClassName,
      cpu: k8s.cpu,
      memoryMb: runners.memoryMb,
      workspaceBytes: config.botWorkspace.maxBytes,
      runner: {
        natsUrl: k8s.natsUrl,
        memoryMb: config.botMemoryMb,
        hookTimeoutMs: config.botHookTimeoutMs,
        outputMaxBytes: config.botOutputMaxBytes,
        idleSeconds: runners.idleSeconds,
        egress: {
          timeoutMs: config.botEgress.timeoutMs,
          maxBytes: config.botEgress.maxResponseBytes,
          allowLoopback: config.botEgress.allowLoopback,
        },
      },
      nats: { peers: [policyPeer(k8s.natsPeer)], port: k8s.natsPort },
      dns: { peers: [policyPeer(k8s.dnsPeer)] },
      hasEgress: async ({ tenantId, channelId, botId }) => {
        const bot = await store.findBot(tenantId, channelId, botId);
        return Array.isArray(bot?.manifest['egress']) && bot.manifest['egress'].length > 0;
      },
      logger,
    });
    return { mechanism, ownership };
  }
  const memory = RunnerMemoryLimit.open(runners.memoryMb, logger);
  const mechanism = new ChildProcessRunners({
    command:
      runners.sandbox === 'gvisor'
        ? gvisorRunnerCommand(config, natsUrl, resolve(config.dataDir, 'runsc'), memory)
        : plainRunnerCommand(config, natsUrl, memory),
    logger,
  });
  return { mechanism };
}

/** A NetworkPolicy peer of runner pods (NATS, DNS) from its setting. */
function policyPeer(peer: KubernetesPeer): V1NetworkPolicyPeer {
  if ('cidr' in peer) return { ipBlock: { cidr: peer.cidr } };
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
    podSelector: { matchLabels: { [peer.label]: peer.value } },
  };
}
