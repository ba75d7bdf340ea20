export { IsolateSandbox } from './isolate-sandbox.js';
export { looksLikePython, toBotModule } from './bot-source.js';
export { readDeclaredManifest } from './declared-manifest.js';
export type { DeclaredManifest } from './declared-manifest.js';
export { HOST_WORK_LIMITS } from './host-work.js';
export type {
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
