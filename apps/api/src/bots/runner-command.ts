import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { workspaceDir } from '#bot-sandbox';
import { RUNNER_HEAP_MB, runnerEnvironmentOf } from '#bots';
import type { BotAddress } from '#events';
import type { AppConfig } from '../config/app.config.js';
import { linkedLibraries, prepareGvisorCommand } from './gvisor.js';
import type { RunnerCommand } from './child-process.runners.js';
import type { RunnerMemoryLimit } from './runner-memory.js';

/** The built runner, relative to the working directory (`npm run build` writes it). */
export const RUNNER_ENTRY = resolve('dist/apps/bot-runner/src/main.js');

/** The runner's settings as its environment (the contract is in libs/bots, runner-contract). */
export function runnerEnvironment(
  config: AppConfig,
  address: BotAddress,
  natsUrl: string,
  workspace: string | null,
): Record<string, string> {
  return runnerEnvironmentOf({
    natsUrl,
    address,
    memoryMb: config.botMemoryMb,
    hookTimeoutMs: config.botHookTimeoutMs,
    outputMaxBytes: config.botOutputMaxBytes,
    idleSeconds: config.runners?.idleSeconds ?? 300,
    egress: {
      timeoutMs: config.botEgress.timeoutMs,
      maxBytes: config.botEgress.maxResponseBytes,
      allowLoopback: config.botEgress.allowLoopback,
      ca: config.botEgress.caFile ? readFileSync(config.botEgress.caFile, 'utf8') : undefined,
    },
    workspace: workspace ? { path: workspace, maxBytes: config.botWorkspace.maxBytes } : null,
  });
}

/** A runner as a plain child process of the API (BOT_SANDBOX=none), in its memory cgroup. */
export function plainRunnerCommand(
  config: AppConfig,
  natsUrl: string,
  memory: Promise<RunnerMemoryLimit>,
): (address: BotAddress) => Promise<RunnerCommand> {
  return async (address) => {
    const limited = await (
      await memory
    ).wrap(`runner-${address.botId}`, {
      command: process.execPath,
      args: ['--no-node-snapshot', `--max-old-space-size=${RUNNER_HEAP_MB}`, RUNNER_ENTRY],
    });
    return {
      command: limited.command,
      args: limited.args,
      env: runnerEnvironment(config, address, natsUrl, hostWorkspace(config, address)),
      cleanup: () => limited.cleanup(),
    };
  };
}

/** The bot's scratch directory on this machine; null when workspaces are off. */
export function hostWorkspace(config: AppConfig, address: BotAddress): string | null {
  const { dir, maxBytes } = config.botWorkspace;
  return maxBytes > 0
    ? workspaceDir(resolve(dir), address.tenantId, address.channelId, address.botId)
    : null;
}

/** Where the workspace appears inside a gVisor sandbox. */
const SANDBOX_WORKSPACE = '/workspace';

/**
 * A runner inside gVisor (BOT_SANDBOX=gvisor; DESIGN §6, layer 2). It sees only the Node binary,
 * the built code, `node_modules`, `package.json` (for the `#` imports) and the shared libraries
 * they link against, all read-only; its workspace is a size-limited tmpfs, so under gVisor the
 * scratch area lasts as long as the runner process. `runsc run` starts in the runner's memory
 * cgroup, and the sandbox and gofer it forks stay there: the limit bounds the whole sandbox.
 */
export function gvisorRunnerCommand(
  config: AppConfig,
  natsUrl: string,
  stateDir: string,
  memory: Promise<RunnerMemoryLimit>,
): (address: BotAddress) => Promise<RunnerCommand> {
  let visible: Promise<string[]> | null = null;
  return async (address) => {
    visible ??= sandboxView();
    const workspaceBytes = config.botWorkspace.maxBytes;
    const prepared = await prepareGvisorCommand({
      id: `runner-${address.botId}`,
      command: process.execPath,
      args: ['--no-node-snapshot', `--max-old-space-size=${RUNNER_HEAP_MB}`, RUNNER_ENTRY],
      env: runnerEnvironment(
        config,
        address,
        natsUrl,
        workspaceBytes > 0 ? SANDBOX_WORKSPACE : null,
      ),
      cwd: '/tmp',
      readOnlyPaths: await visible,
      workspace: workspaceBytes > 0 ? { path: SANDBOX_WORKSPACE, sizeBytes: workspaceBytes } : null,
      stateDir,
    });
    const limited = await (
      await memory
    )
      .wrap(`runner-${address.botId}`, prepared)
      .catch(async (error: unknown) => {
        await prepared.cleanup();
        throw error;
      });
    return {
      command: limited.command,
      args: limited.args,
      env: {},
      // The sandbox first: its processes must be gone before their cgroup can be removed.
      cleanup: () => prepared.cleanup().finally(() => limited.cleanup()),
    };
  };
}

/** node-gyp-build: finds the native addon a package loads (isolated-vm's). */
interface NodeGypBuild {
  path(dir: string): string;
}

/** The host files a sandboxed runner needs, and nothing else. */
async function sandboxView(): Promise<string[]> {
  const ivm = dirname(createRequire(import.meta.url).resolve('isolated-vm'));
  const build = createRequire(join(ivm, 'package.json'))('node-gyp-build') as NodeGypBuild;
  const addon = build.path(ivm);
  return [
    process.execPath,
    resolve('dist'),
    resolve('node_modules'),
    resolve('package.json'),
    ...(await linkedLibraries([process.execPath, addon])),
  ];
}
