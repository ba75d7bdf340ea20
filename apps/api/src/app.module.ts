import { Logger, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CachingSessionStore, PrincipalStore, SessionStore } from '#auth';
import { BotLauncher, BotService, InlineBotLauncher } from '#bots';
import { BotHost, ChannelService, ChannelStore, MessageRateLimiter } from '#channels';
import { EventBus, InProcessEventBus } from '#events';
import {
  Database,
  TypeOrmChannelStore,
  TypeOrmPrincipalStore,
  TypeOrmSessionStore,
} from '#persistence';
import { AppConfig } from './config/app.config.js';
import { McpController } from './mcp/mcp.controller.js';
import { McpHttpHandler } from './mcp/mcp-http.handler.js';
import { OriginPolicy } from './mcp/origin-policy.js';
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

  constructor(
    private readonly database: Database,
    private readonly launcher: BotLauncher,
    private readonly bots: BotService,
  ) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [McpController, ChannelsController, OpenApiController],
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
            }),
        },
        {
          provide: ChannelStore,
          useFactory: (db: Database) => new TypeOrmChannelStore(db),
          inject: [Database],
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
        { provide: EventBus, useValue: new InProcessEventBus() },
        {
          provide: BotLauncher,
          useFactory: () =>
            new InlineBotLauncher({
              memoryMb: config.botMemoryMb,
              timeoutMs: config.botHookTimeoutMs,
              maxOutputBytes: config.botOutputMaxBytes,
            }),
        },
        {
          provide: BotService,
          useFactory: (store: ChannelStore, launcher: BotLauncher, bus: EventBus) =>
            new BotService(
              store,
              launcher,
              bus,
              { settleTimeoutMs: config.botSettleTimeoutMs },
              new Logger('Bots'),
            ),
          inject: [ChannelStore, BotLauncher, EventBus],
        },
        { provide: BotHost, useExisting: BotService },
        {
          provide: ChannelService,
          useFactory: (store: ChannelStore, bots: BotHost, bus: EventBus) =>
            new ChannelService(
              store,
              bots,
              bus,
              new MessageRateLimiter(config.messageRatePerMinute, config.messageRateBurst),
            ),
          inject: [ChannelStore, BotHost, EventBus],
        },
        {
          provide: McpHttpHandler,
          useFactory: (
            channels: ChannelService,
            sessions: SessionStore,
            principals: PrincipalStore,
          ) =>
            new McpHttpHandler(
              channels,
              sessions,
              principals,
              new OriginPolicy(config.publicUrl, config.allowedOrigins),
            ),
          inject: [ChannelService, SessionStore, PrincipalStore],
        },
      ],
    };
  }

  /** Bots with uncommitted events (the server stopped mid-hook) resume in the background. */
  onApplicationBootstrap(): void {
    this.bots
      .recover()
      .catch((error: unknown) => this.logger.error(`bot recovery failed: ${String(error)}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.launcher.close();
    await this.database.close();
  }
}
