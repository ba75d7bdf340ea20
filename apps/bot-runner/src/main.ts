import { readFile } from 'node:fs/promises';
import { EgressFetcher, IsolateSandbox } from '#bot-sandbox';
import {
  BotGoneError,
  RunnerExitCode,
  RunnerLoop,
  formatReport,
  readRunnerEnvironment,
} from '#bots';
import { keepAliveOnUnhandledRejection } from '#core';
import { NatsRunnerLink } from '#events';
import type { EventConsumer } from '#events';

/**
 * The bot runner (DESIGN §2): one process per bot. It reads its bot from the API, pulls its
 * channel's events over NATS with credentials good for that bot only, runs each hook in an
 * isolate, and sends the effects back. How it is started, told its settings and given its
 * credentials, what it reports and what its exit codes mean is the runner contract
 * (libs/bots, runner-contract).
 *
 * Credentials come on standard input (a child process of the API) or from a mounted file (a pod).
 * On standard input (ADR 0006) they end with a NUL byte, and the launcher then keeps the pipe open
 * for as long as it lives, so its end means the API is gone (even killed outright) and the runner
 * exits instead of pulling events beside the next API's runners.
 */
const EXIT_STOPPED = RunnerExitCode.stopped;
const EXIT_FAILED = RunnerExitCode.failed;
const EXIT_GONE = RunnerExitCode.gone;
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
  const read = readRunnerEnvironment(process.env);
  if (!read.ok) {
    log('config_error', { error: read.error });
    process.exit(EXIT_FAILED);
  }
  const { settings } = read;
  const credentials = settings.credentialsFile
    ? await readFile(settings.credentialsFile, 'utf8')
    : await readCredentials(process.stdin);
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
  // A pod has no launcher on its standard input: its end would mean nothing there.
  if (!settings.credentialsFile) {
    watchLauncher(process.stdin, () => stop(EXIT_STOPPED, 'launcher gone'));
  }
  process.once('SIGTERM', () => stop(EXIT_STOPPED, 'terminated'));
  const { address } = settings;
  link = await NatsRunnerLink.connect({
    servers: settings.natsUrl,
    credentials,
    address,
    logger: { error: (message) => log('error', { error: message }) },
  });
  // Credentials expired or the connection ended: the launcher starts a fresh runner.
  void link.closed().then(() => stop(EXIT_FAILED, 'disconnected'));
  sandbox = new IsolateSandbox(
    {
      memoryMb: settings.memoryMb,
      timeoutMs: settings.hookTimeoutMs,
      maxOutputBytes: settings.outputMaxBytes,
      workspaceBytes: settings.workspace?.maxBytes ?? 0,
    },
    1,
    new EgressFetcher({
      timeoutMs: settings.egress.timeoutMs,
      maxResponseBytes: settings.egress.maxBytes,
      allowLoopback: settings.egress.allowLoopback,
      ca: settings.egress.ca,
    }),
  );
  const loop = new RunnerLoop(
    address,
    link,
    sandbox,
    () => stop(EXIT_GONE, 'bot removed'),
    settings.workspace?.path ?? null,
    {
      holding: (seq) => process.stdout.write(`${formatReport({ event: 'holding', seq })}\n`),
      released: (seq) => process.stdout.write(`${formatReport({ event: 'released', seq })}\n`),
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
    if (loop.idleMs() > settings.idleSeconds * 1000) stop(EXIT_STOPPED, 'idle');
  }, 1000);
  idle.unref();
}

main().catch((error: unknown) => {
  if (stopping) return;
  log('failed', { error: error instanceof Error ? error.message : String(error) });
  process.exit(EXIT_FAILED);
});
