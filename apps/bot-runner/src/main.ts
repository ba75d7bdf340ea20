import { z } from 'zod';
import { EgressFetcher, IsolateSandbox } from '#bot-sandbox';
import { BotGoneError, RunnerLoop } from '#bots';
import { keepAliveOnUnhandledRejection } from '#core';
import type { BotId, ChannelId, TenantId } from '#core';
import { NatsRunnerLink } from '#events';
import type { EventConsumer } from '#events';

/**
 * The bot runner (DESIGN §2): one process per bot. It reads its bot from the API, pulls its
 * channel's events over NATS with credentials good for that bot only, runs each hook in an
 * isolate, and sends the effects back. The launcher passes the settings in the environment and the
 * credentials on standard input (never in the environment, which other processes may read).
 *
 * Standard input (ADR 0006): the credentials, ended by a NUL byte; the launcher then keeps it open
 * for as long as it lives, so its end means the API is gone (even killed outright) and the runner
 * exits instead of pulling events beside the next API's runners.
 *
 * Standard output: one JSON object per line. `holding` and `released` (with the event's `seq`)
 * frame each hook, so the launcher can tell a stuck runner from an idle one.
 *
 * Exit codes: 0 when stopped, idle or orphaned (nothing to restart), 3 when the bot is gone, 1 on
 * failure (the launcher restarts it).
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

const EXIT_STOPPED = 0;
const EXIT_FAILED = 1;
const EXIT_GONE = 3;
/** A stop that hangs (NATS unreachable while draining) must not keep an orphan alive. */
const STOP_DEADLINE_MS = 3_000;

/** Set by the first reason to stop; later failures (of the connection being closed) are moot. */
let stopping = false;

function log(event: string, detail: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...detail })}\n`);
}

keepAliveOnUnhandledRejection((message) => log('error', { error: message }));

/** Reads standard input up to the first NUL: the credentials. Leaves the stream paused. */
function readCredentials(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      const end = chunk.indexOf(0);
      if (end === -1) return void chunks.push(chunk);
      chunks.push(chunk.subarray(0, end));
      cleanup();
      input.pause();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('standard input ended before the credentials did (no NUL byte)'));
    };
    const cleanup = () => {
      input.off('data', onData);
      input.off('end', onEnd);
    };
    input.on('data', onData);
    input.on('end', onEnd);
  });
}

/** Calls `gone` when standard input ends: the launcher that holds its other end has died. */
function watchLauncher(input: NodeJS.ReadStream, gone: () => void): void {
  input.on('end', gone);
  input.on('error', gone);
  input.on('data', () => undefined);
  input.resume();
}

async function main(): Promise<void> {
  const parsed = environment.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    log('config_error', { error: `${issue?.path.join('.')}: ${issue?.message}` });
    process.exit(EXIT_FAILED);
  }
  const env = parsed.data;
  const credentials = await readCredentials(process.stdin);
  let link: NatsRunnerLink | null = null;
  let consumer: EventConsumer | null = null;
  let sandbox: IsolateSandbox | null = null;
  // The one way out: the first reason to stop decides the exit code. (Closing the link to stop
  // also ends `link.closed()`, which must not turn an idle stop into a failure.)
  const stop = (code: number, reason: string): void => {
    if (stopping) return;
    stopping = true;
    log('stopping', { reason, code });
    setTimeout(() => process.exit(code), STOP_DEADLINE_MS).unref();
    void (async () => {
      await consumer?.stop().catch(() => undefined);
      await link?.close().catch(() => undefined);
      sandbox?.dispose();
      process.exit(code);
    })();
  };
  watchLauncher(process.stdin, () => stop(EXIT_STOPPED, 'launcher gone'));
  process.once('SIGTERM', () => stop(EXIT_STOPPED, 'terminated'));
  const address = {
    tenantId: env.RUNNER_TENANT as TenantId,
    channelId: env.RUNNER_CHANNEL as ChannelId,
    botId: env.RUNNER_BOT as BotId,
  };
  link = await NatsRunnerLink.connect({
    servers: env.RUNNER_NATS_URL,
    credentials,
    address,
    logger: { error: (message) => log('error', { error: message }) },
  });
  // Credentials expired or the connection ended: the launcher starts a fresh runner.
  void link.closed().then(() => stop(EXIT_FAILED, 'disconnected'));
  sandbox = new IsolateSandbox(
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
  const loop = new RunnerLoop(
    address,
    link,
    sandbox,
    () => stop(EXIT_GONE, 'bot removed'),
    env.RUNNER_WORKSPACE ?? null,
    {
      holding: (seq) => log('holding', { seq }),
      released: (seq) => log('released', { seq }),
    },
  );
  try {
    consumer = await loop.start();
  } catch (error) {
    if (!(error instanceof BotGoneError)) throw error;
    stop(EXIT_GONE, 'bot removed');
    return;
  }
  log('ready');
  const idle = setInterval(() => {
    if (loop.idleMs() > env.RUNNER_IDLE_SECONDS * 1000) stop(EXIT_STOPPED, 'idle');
  }, 1000);
  idle.unref();
}

main().catch((error: unknown) => {
  if (stopping) return;
  log('failed', { error: error instanceof Error ? error.message : String(error) });
  process.exit(EXIT_FAILED);
});
