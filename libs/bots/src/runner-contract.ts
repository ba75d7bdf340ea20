import { z } from 'zod';
import type { BotId, ChannelId, TenantId } from '#core';
import type { BotAddress } from '#events';

/**
 * The contract between a launcher and the bot runner it starts (apps/bot-runner), whatever starts
 * it: a child process of the API, or a pod. Both sides import it from here, so a name or a code
 * changes in one place.
 *
 * - Settings come in the environment (`runnerEnvironmentOf`, `readRunnerEnvironment`); nothing
 *   secret is among them.
 * - Credentials never come in the environment, which other processes may read: a process gets them
 *   on standard input, ended by a NUL byte, and the launcher then keeps that pipe open as the
 *   parent-death signal (ADR 0006); a pod gets them as a file mounted from a Secret, named by
 *   `RUNNER_CREDENTIALS_FILE`.
 * - Standard output carries one JSON object per line; `holding` and `released`, with the event's
 *   `seq`, frame each hook, so the launcher can tell a stuck runner from an idle one.
 * - The exit code says whether to start the runner again (`RunnerExitCode`).
 */

/** What a runner is told when it starts. */
export interface RunnerSettings {
  readonly natsUrl: string;
  readonly address: BotAddress;
  readonly memoryMb: number;
  readonly hookTimeoutMs: number;
  readonly outputMaxBytes: number;
  readonly idleSeconds: number;
  readonly egress: {
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly allowLoopback: boolean;
    /** PEM of an extra CA (tests); the runner may have no file system to read one from. */
    readonly ca?: string | undefined;
  };
  /** The bot's scratch directory, as the runner sees it; null: none. */
  readonly workspace: { readonly path: string; readonly maxBytes: number } | null;
  /** Where the credentials are mounted (a pod's Secret); absent: on standard input. */
  readonly credentialsFile?: string | undefined;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The environment a runner reads, and nothing else of it. */
const runnerEnvironment = z.object({
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
  RUNNER_CREDENTIALS_FILE: z.string().min(1).optional(),
});

/** The environment that tells a runner its settings (no secrets: credentials go apart). */
export function runnerEnvironmentOf(settings: RunnerSettings): Record<string, string> {
  const { address, egress, workspace } = settings;
  return {
    RUNNER_NATS_URL: settings.natsUrl,
    RUNNER_TENANT: address.tenantId,
    RUNNER_CHANNEL: address.channelId,
    RUNNER_BOT: address.botId,
    RUNNER_MEMORY_MB: String(settings.memoryMb),
    RUNNER_HOOK_TIMEOUT_MS: String(settings.hookTimeoutMs),
    RUNNER_OUTPUT_MAX_BYTES: String(settings.outputMaxBytes),
    RUNNER_IDLE_SECONDS: String(settings.idleSeconds),
    RUNNER_EGRESS_TIMEOUT_MS: String(egress.timeoutMs),
    RUNNER_EGRESS_MAX_BYTES: String(egress.maxBytes),
    RUNNER_EGRESS_ALLOW_LOOPBACK: String(egress.allowLoopback),
    ...(egress.ca ? { RUNNER_EGRESS_CA: egress.ca } : {}),
    ...(workspace
      ? {
          RUNNER_WORKSPACE: workspace.path,
          RUNNER_WORKSPACE_MAX_BYTES: String(workspace.maxBytes),
        }
      : {}),
    ...(settings.credentialsFile ? { RUNNER_CREDENTIALS_FILE: settings.credentialsFile } : {}),
  };
}

/** The runner's settings from its environment, or the first thing wrong with it. */
export function readRunnerEnvironment(
  env: Record<string, string | undefined>,
): { ok: true; settings: RunnerSettings } | { ok: false; error: string } {
  const parsed = runnerEnvironment.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.')}: ${issue?.message}` };
  }
  const values = parsed.data;
  return {
    ok: true,
    settings: {
      natsUrl: values.RUNNER_NATS_URL,
      address: {
        tenantId: values.RUNNER_TENANT as TenantId,
        channelId: values.RUNNER_CHANNEL as ChannelId,
        botId: values.RUNNER_BOT as BotId,
      },
      memoryMb: values.RUNNER_MEMORY_MB,
      hookTimeoutMs: values.RUNNER_HOOK_TIMEOUT_MS,
      outputMaxBytes: values.RUNNER_OUTPUT_MAX_BYTES,
      idleSeconds: values.RUNNER_IDLE_SECONDS,
      egress: {
        timeoutMs: values.RUNNER_EGRESS_TIMEOUT_MS,
        maxBytes: values.RUNNER_EGRESS_MAX_BYTES,
        allowLoopback: values.RUNNER_EGRESS_ALLOW_LOOPBACK === 'true',
        ca: values.RUNNER_EGRESS_CA,
      },
      workspace: values.RUNNER_WORKSPACE
        ? { path: values.RUNNER_WORKSPACE, maxBytes: values.RUNNER_WORKSPACE_MAX_BYTES }
        : null,
      credentialsFile: values.RUNNER_CREDENTIALS_FILE,
    },
  };
}

/** The runner process's own heap, above its isolate's limit (isolated-vm may overshoot that). */
export const RUNNER_HEAP_MB = 128;

export const RunnerExitCode = {
  /** Stopped, idle or orphaned: nothing to restart. */
  stopped: 0,
  /** Failed: the launcher starts it again, with backoff. */
  failed: 1,
  /** The bot was removed: never start it again. */
  gone: 3,
} as const;

/** What a runner reports on a line of its standard output about the event it is running. */
export interface RunnerReport {
  readonly event: 'holding' | 'released';
  readonly seq: number;
}

/** The runner's line for a report. */
export function formatReport(report: RunnerReport): string {
  return JSON.stringify(report);
}

/** A `holding` or `released` line read back; null for any other line (logs, errors). */
export function parseReport(line: string): RunnerReport | null {
  if (!line.startsWith('{"event":"holding"') && !line.startsWith('{"event":"released"')) {
    return null;
  }
  try {
    const report = JSON.parse(line) as { event?: unknown; seq?: unknown };
    if (typeof report.seq !== 'number') return null;
    if (report.event !== 'holding' && report.event !== 'released') return null;
    return { event: report.event, seq: report.seq };
  } catch {
    return null;
  }
}
