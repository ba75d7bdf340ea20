import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import type { Response } from 'express';
import { OutboxRelay } from '#channels';
import { EventBus } from '#events';
import { Database } from '#persistence';

/** A relay that has not finished a pass this long is not healthy. */
const RELAY_STALE_MS = 30_000;

/**
 * Liveness and readiness for people and probes (issue 4, item 7). None needs a token or says
 * anything about a tenant.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly database: Database,
    private readonly bus: EventBus,
    @Optional() @Inject(OutboxRelay) private readonly relay: OutboxRelay | null,
  ) {}

  @Get('api/v1/health')
  health(): { result: string } {
    return { result: `Multiplayer server healthy at ${new Date().toISOString()}` };
  }

  /** The process is alive and serving HTTP. */
  @Get('healthz')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Postgres answers, the event bus is connected, and the outbox relay (when running) keeps up. */
  @Get('readyz')
  async ready(@Res() res: Response): Promise<void> {
    const checks = {
      database: await this.database
        .rows('SELECT 1')
        .then(() => true)
        .catch(() => false),
      events: this.bus.isHealthy(),
      outbox: this.relay ? this.relay.healthy(RELAY_STALE_MS) : true,
    };
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  }
}
