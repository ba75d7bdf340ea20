export { BotLauncher } from './bot-launcher.js';
export { BotEffects } from './bot-effects.js';
export type { BotEffectsLogger } from './bot-effects.js';
export { POISON_STRIKES, RunnerFleet, poisonReason } from './runner-fleet.js';
export type {
  RunnerExit,
  RunnerFleetOptions,
  RunnerHandle,
  RunnerMechanism,
  RunnerOwnership,
} from './runner-fleet.js';
export {
  RUNNER_HEAP_MB,
  RunnerExitCode,
  formatReport,
  parseReport,
  readRunnerEnvironment,
  runnerEnvironmentOf,
} from './runner-contract.js';
export type { RunnerReport, RunnerSettings } from './runner-contract.js';
export { hookCall } from './hook-call.js';
export { BotGoneError, RunnerLoop } from './runner-loop.js';
export type { HookExecutor, RunnerConnection } from './runner-loop.js';
export type { HookEvent, SlotLabel } from './hook-call.js';
export { BotService } from './bot.service.js';
export type { BotServiceSettings } from './bot.service.js';
export { DEFAULT_INLINE_MANIFEST, manifestHash } from './bot-manifest.js';
export { InlineBotLauncher } from './inline-bot.launcher.js';
export type { InlineLauncherSettings } from './inline-bot.launcher.js';
export { presetNames, presetSource } from './presets.js';
export type { FairShareSettings } from './hook-scheduler.js';
