import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BotAddress } from '#events';
import type { AppConfig } from '../config/app.config.js';
import type { RunnerCommand } from './process-bot.runners.js';

/** The built runner, relative to the working directory (`npm run build` writes it). */
export const RUNNER_ENTRY = resolve('dist/apps/bot-runner/src/main.js');

/** The runner process's own heap, above the isolate's limit (isolated-vm may overshoot it). */
const RUNNER_HEAP_MB = 128;

/** The runner's settings (apps/bot-runner reads these, and nothing else of the environment). */
export function runnerEnvironment(
  config: AppConfig,
  address: BotAddress,
  natsUrl: string,
): Record<string, string> {
  return {
    RUNNER_NATS_URL: natsUrl,
    RUNNER_TENANT: address.tenantId,
    RUNNER_CHANNEL: address.channelId,
    RUNNER_BOT: address.botId,
    RUNNER_MEMORY_MB: String(config.botMemoryMb),
    RUNNER_HOOK_TIMEOUT_MS: String(config.botHookTimeoutMs),
    RUNNER_OUTPUT_MAX_BYTES: String(config.botOutputMaxBytes),
    RUNNER_IDLE_SECONDS: String(config.processRunners?.idleSeconds ?? 300),
    RUNNER_EGRESS_TIMEOUT_MS: String(config.botEgress.timeoutMs),
    RUNNER_EGRESS_MAX_BYTES: String(config.botEgress.maxResponseBytes),
    RUNNER_EGRESS_ALLOW_LOOPBACK: String(config.botEgress.allowLoopback),
    ...(config.botEgress.caFile
      ? { RUNNER_EGRESS_CA: readFileSync(config.botEgress.caFile, 'utf8') }
      : {}),
  };
}

/** A runner as a plain child process of the API (BOT_SANDBOX=none). */
export function plainRunnerCommand(
  config: AppConfig,
  natsUrl: string,
): (address: BotAddress) => Promise<RunnerCommand> {
  return (address) =>
    Promise.resolve({
      command: process.execPath,
      args: ['--no-node-snapshot', `--max-old-space-size=${RUNNER_HEAP_MB}`, RUNNER_ENTRY],
      env: runnerEnvironment(config, address, natsUrl),
      cleanup: () => Promise.resolve(),
    });
}
