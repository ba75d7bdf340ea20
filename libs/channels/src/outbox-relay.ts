import type { ChannelEventMessage, EventBus } from '#events';
import { toMessageView } from './channel.views.js';
import type { PendingEvent } from './ports/channel.store.js';
import type { EventOutbox, UnpublishedChannel } from './ports/event-outbox.js';

/** Channels and events handled per pass. */
const CHANNELS_PER_PASS = 64;
const EVENTS_PER_CHANNEL = 256;
/** The rest after a failed pass: a database or bus that is away is not asked ten times a second. */
const FAILED_PASS_REST_MS = 1_000;

export interface OutboxRelaySettings {
  /** How long the relay rests between passes, unless nudged or events were left over. */
  readonly idleMs: number;
}

export interface OutboxRelayLogger {
  error(message: string): void;
}

/**
 * Publishes committed channel events to the bus, in order per channel (DESIGN §7). It publishes,
 * then records how far it got: a relay that dies in between publishes those events again on its
 * next pass (any replica's), and the bus stores each (tenant, channel, seq) once. So nothing
 * committed is lost, and consumers see each event once. Under steady traffic it rests between
 * passes all the same, so a pass publishes what gathered meanwhile: a pass per event would cost
 * three statements and a publish round trip for every post, on the event loop the posts share.
 * Bot runners, which wait on these events, nudge it.
 */
export class OutboxRelay {
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private lastPassOk = 0;
  /** Set by a nudge during a pass: the next pass starts without resting. */
  private nudged = false;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly bus: EventBus,
    private readonly settings: OutboxRelaySettings,
    private readonly logger: OutboxRelayLogger,
  ) {}

  /** Publishes what is waiting now; returns how many events it published. */
  async pass(): Promise<number> {
    return (await this.publishWaiting()).published;
  }

  /** Runs passes until stopped, resting between them unless events were left over. */
  start(): void {
    this.stopped = false;
    this.running ??= (async () => {
      // A failing pass (the database or the bus away) is retried until one succeeds, the
      // events staying in the outbox meanwhile; it is logged once per run of failures.
      let failing = false;
      while (!this.stopped) {
        let leftOver = false;
        this.nudged = false;
        try {
          ({ leftOver } = await this.publishWaiting());
          failing = false;
        } catch (error) {
          if (!failing) {
            this.logger.error(
              `outbox relay pass failed: ${(error as Error).message} (retrying until it passes)`,
            );
          }
          failing = true;
        }
        const idleMs = this.settings.idleMs;
        if (!leftOver) await this.rest(failing ? Math.max(idleMs, FAILED_PASS_REST_MS) : idleMs);
      }
    })();
  }

  private async publishWaiting(): Promise<{ published: number; leftOver: boolean }> {
    const channels = await this.outbox.unpublished(CHANNELS_PER_PASS);
    const counts = await Promise.all(channels.map((channel) => this.publish(channel)));
    this.lastPassOk = Date.now();
    return {
      published: counts.reduce((sum, count) => sum + count, 0),
      // A full page of channels, or of one channel's events, may leave more behind it.
      leftOver:
        channels.length === CHANNELS_PER_PASS ||
        counts.some((count) => count === EVENTS_PER_CHANNEL),
    };
  }

  /** Waits for a nudge or `ms`, unless a nudge came during the pass. */
  private async rest(ms: number): Promise<void> {
    if (this.nudged) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, ms);
    });
  }

  /** Starts the next pass now instead of after the rest (events were just committed). */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }

  /** Whether a pass succeeded lately (for /readyz). */
  healthy(withinMs: number): boolean {
    return this.running !== null && Date.now() - this.lastPassOk <= withinMs;
  }

  private async publish(channel: UnpublishedChannel): Promise<number> {
    const events = await this.outbox.eventsAfter(
      channel.tenantId,
      channel.channelId,
      channel.publishedSeq,
      EVENTS_PER_CHANNEL,
    );
    for (const event of events) await this.bus.publishEvent(toMessage(channel, event));
    const last = events.at(-1);
    if (last) await this.outbox.markPublished(channel.tenantId, channel.channelId, last.seq);
    return events.length;
  }
}

function toMessage(channel: UnpublishedChannel, event: PendingEvent): ChannelEventMessage {
  return {
    tenantId: channel.tenantId,
    channelId: channel.channelId,
    seq: event.seq,
    type: event.type,
    botId: event.botId,
    payload: event.payload,
    createdAt: event.createdAt.toISOString(),
    message: event.message ? toMessageView(event.message) : null,
  };
}
