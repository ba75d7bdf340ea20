import { IsolateSandbox } from '#bot-sandbox';
import type { EgressFetcher } from '#bot-sandbox';
import type { HookOutcome, HookRequest, SandboxLimits } from '#bot-sandbox';
import { BotLauncher } from './bot-launcher.js';

/** Runs hooks in isolates inside this process: the embedded default. */
export class InlineBotLauncher extends BotLauncher {
  private readonly sandbox: IsolateSandbox;

  constructor(limits: SandboxLimits, egress: EgressFetcher | null = null) {
    super();
    this.sandbox = new IsolateSandbox(limits, undefined, egress);
  }

  run(request: HookRequest): Promise<HookOutcome> {
    return this.sandbox.run(request);
  }

  close(): Promise<void> {
    this.sandbox.dispose();
    return Promise.resolve();
  }
}
