import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EgressFetcher, IsolateSandbox } from '#bot-sandbox';
import { BotGoneError, RunnerLoop } from '#bots';
import type { BotId, ChannelId, TenantId } from '#core';
import { NatsRunnerLink } from '#events';
import type { EventConsumer } from '#events';

/**
 * The bot runner (DESIGN §2): one process per bot. It reads its bot from the API, pulls its
 * channel's events over NATS with credentials good for that bot only, runs each hook in an
 * isolate, and sends the effects back. The launcher passes the settings in the environment and the
 * credentials on standard input (never in the environment, which other processes may read).
 *
 * Exit codes: 0 when stopped or idle (nothing to restart), 3 when the bot is gone, 1 on failure.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ID = /^[A-Za-z0-9_-]{1,64}$/;

const environment = z.object({
  RUNNER_NATS_URL: z.string().min(1),
  RUNNER_TENANT: z.string().regex(ID),
  RUNNER_CHANNEL: z.string().regex(ID),
  RUNNER_BOT: z.string().regex(ID),
  RUNNER_MEMORY_MB: int(8, 4096),
  RUNNER_HOOK_TIMEOUT_MS: int(10, 60_000),
  RUNNER_OUTPUT_MAX_BYTES: int(1024, 16 * 1024 * 1024),
  RUNNER_IDLE_SECONDS: int(1, 86_400),
  RUNNER_EGRESS_TIMEOUT_MS: int(100, 60_000),
  RUNNER_EGRESS_MAX_BYTES: int(1024, 64 * 1024 * 1024),
  RUNNER_EGRESS_ALLOW_LOOPBACK: z.enum(['true', 'false']),
  RUNNER_EGRESS_CA: z.string().optional(),
  RUNNER_WORKSPACE: z.string().min(1).optional(),
  RUNNER_WORKSPACE_MAX_BYTES: int(0, 1024 * 1024 * 1024).default(0),
});

const EXIT_GONE = 3;

function log(event: string, detail: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...detail })}\n`);
}

async function main(): Promise<void> {
  const parsed = environment.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    log('config_error', { error: `${issue?.path.join('.')}: ${issue?.message}` });
    process.exit(1);
  }
  const env = parsed.data;
  const credentials = readFileSync(0, 'utf8');
  const address = {
    tenantId: env.RUNNER_TENANT as TenantId,
    channelId: env.RUNNER_CHANNEL as ChannelId,
    botId: env.RUNNER_BOT as BotId,
  };
  const link = await NatsRunnerLink.connect({
    servers: env.RUNNER_NATS_URL,
    credentials,
    address,
    logger: { error: (message) => log('error', { error: message }) },
  });
  const sandbox = new IsolateSandbox(
    {
      memoryMb: env.RUNNER_MEMORY_MB,
      timeoutMs: env.RUNNER_HOOK_TIMEOUT_MS,
      maxOutputBytes: env.RUNNER_OUTPUT_MAX_BYTES,
      workspaceBytes: env.RUNNER_WORKSPACE_MAX_BYTES,
    },
    1,
    new EgressFetcher({
      timeoutMs: env.RUNNER_EGRESS_TIMEOUT_MS,
      maxResponseBytes: env.RUNNER_EGRESS_MAX_BYTES,
      allowLoopback: env.RUNNER_EGRESS_ALLOW_LOOPBACK === 'true',
      ca: env.RUNNER_EGRESS_CA,
    }),
  );
  let consumer: EventConsumer | null = null;
  const stop = async (code: number, reason: string) => {
    log('stopping', { reason });
    await consumer?.stop();
    await link.close();
    sandbox.dispose();
    process.exit(code);
  };
  const loop = new RunnerLoop(
    address,
    link,
    sandbox,
    () => void stop(EXIT_GONE, 'bot removed'),
    env.RUNNER_WORKSPACE ?? null,
  );
  try {
    consumer = await loop.start();
  } catch (error) {
    if (error instanceof BotGoneError) return stop(EXIT_GONE, 'bot removed');
    throw error;
  }
  log('ready');
  process.once('SIGTERM', () => void stop(0, 'terminated'));
  const idle = setInterval(() => {
    if (loop.idleMs() > env.RUNNER_IDLE_SECONDS * 1000) void stop(0, 'idle');
  }, 1000);
  idle.unref();
  // Credentials expired or the connection ended: the launcher starts a fresh runner.
  await link.closed();
  log('disconnected');
  process.exit(1);
}

main().catch((error: unknown) => {
  log('failed', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
