import { IsolateSandbox } from '#bot-sandbox';
import type { EgressFetcher } from '#bot-sandbox';
import type { BotInspection, HookOutcome, HookRequest, SandboxLimits } from '#bot-sandbox';
import { BotLauncher } from './bot-launcher.js';

/** Runs hooks in isolates inside this process: the embedded default. */
export class InlineBotLauncher extends BotLauncher {
  private readonly sandbox: IsolateSandbox;

  constructor(limits: SandboxLimits, egress: EgressFetcher | null = null) {
    super();
    this.sandbox = new IsolateSandbox(limits, undefined, egress);
  }

  inspect(
    code: string,
  ): Promise<{ ok: true; inspection: BotInspection } | { ok: false; error: string }> {
    return this.sandbox.inspect(code);
  }

  run(request: HookRequest): Promise<HookOutcome> {
    return this.sandbox.run(request);
  }

  close(): Promise<void> {
    this.sandbox.dispose();
    return Promise.resolve();
  }
}
