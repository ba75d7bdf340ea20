import { Controller, Get } from '@nestjs/common';

/** Liveness for people and probes; needs no token and says nothing about any tenant. */
@Controller('api/v1')
export class HealthController {
  @Get('health')
  health(): { result: string } {
    return { result: `Multiplayer server healthy at ${new Date().toISOString()}` };
  }
}
