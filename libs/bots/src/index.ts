export { BotLauncher } from './bot-launcher.js';
export { BotService } from './bot.service.js';
export type { BotServiceLogger, BotServiceSettings } from './bot.service.js';
export { DEFAULT_INLINE_MANIFEST, manifestHash } from './bot-manifest.js';
export { InlineBotLauncher } from './inline-bot.launcher.js';
export { presetNames, presetSource } from './presets.js';
