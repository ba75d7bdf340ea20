import type { BotAddress } from '#events';

/**
 * Runners outside the API process (DESIGN §2: `process`, later `kubernetes`). Each serves one
 * bot: it pulls the channel's events from the bus, runs the hooks and sends the effects back for
 * the API to commit. Runners hold no state, so stopping one never loses anything.
 */
export abstract class BotRunners {
  /** Makes sure the bot's runner is running and its events are on their way to it. */
  abstract ensure(address: BotAddress): Promise<void>;
  /** Stops the bot's runner for good and drops its place on the bus: the bot was removed. */
  abstract retire(address: BotAddress): Promise<void>;
  /** The bot's runner moved it on: one of its events was committed (or found committed). */
  abstract progressed(address: BotAddress): void;
  abstract close(): Promise<void>;
}
