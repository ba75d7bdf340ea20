export { IsolateSandbox } from './isolate-sandbox.js';
export { looksLikePython, toBotModule } from './bot-source.js';
export type {
  BotInspection,
  HookEffects,
  HookName,
  HookOutcome,
  HookRequest,
  PostEffect,
  SandboxLimits,
} from './hook.types.js';
export { EgressDeniedError, EgressFetcher, hostAllowed } from './egress.js';
export { BotWorkspace, WORKSPACE_MAX_FILES, wipeWorkspace, workspaceDir } from './workspace.js';
export type { EgressRequest, EgressResponse, EgressSettings } from './egress.js';
