import type { HookOutcome, HookRequest } from '#bot-sandbox';

/**
 * Where bot hooks run (DESIGN §2): `inline` in an isolate inside the API process; `process` and
 * `kubernetes` later. A launcher computes effects; it never writes to the database.
 */
export abstract class BotLauncher {
  abstract run(request: HookRequest): Promise<HookOutcome>;
  abstract close(): Promise<void>;
}
