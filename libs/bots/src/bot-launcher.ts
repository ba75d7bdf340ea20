import type { PendingEvent } from '#channels';
import type { BotAddress } from '#events';

/**
 * Where bot hooks run (DESIGN §2): `inline` in isolates inside the API process, or in a runner of
 * each bot's own, a child process (`process`) or a pod (`kubernetes`), which pulls its channel's
 * events from the bus and sends the effects back. Whichever runs them, effects are committed by
 * the API (BotEffects), once per (bot, event).
 */
export abstract class BotLauncher {
  /**
   * The bot has committed events up to `eventSeq` (`event` is that one, when the caller has it):
   * have them run. True once their effects are committed; false when they run elsewhere (a
   * runner was started or was running) and the caller must watch for the commits itself.
   */
  abstract catchUp(
    address: BotAddress,
    eventSeq: number,
    event: PendingEvent | null,
  ): Promise<boolean>;

  /** The bot has uncommitted events after a restart (`lastEventSeq` is its last committed one). */
  abstract recover(address: BotAddress, lastEventSeq: number): Promise<void>;

  /** The bot was removed: stop running it for good. */
  abstract retire(address: BotAddress): Promise<void>;

  /** One of the bot's events was committed from a runner (or found committed). */
  progressed(_address: BotAddress): void {}

  abstract close(): Promise<void>;
}
