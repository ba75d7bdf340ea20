import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import type { ChannelId, TenantId } from '#core';
import { parseEventMessage } from './channel-event.message.js';
import type { ChannelEventMessage } from './channel-event.message.js';
import { EventBus, eventSubject, wakeSubject } from './event-bus.js';
import type { EventConsumer, EventHandler } from './event-bus.js';
import { EVENT_STREAM, consumeDurable, durableConfig, durableName } from './nats-consumer.js';

/**
 * Only the event subjects: a stream over all of `mp.>` would also capture the wake-ups and answer
 * the runners' effect requests with its own publish acknowledgements.
 */
const STREAM_SUBJECTS = ['mp.*.ch.*.ev'];
/** A republished event (same tenant, channel and seq) inside this window is stored once. */
const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;
/** Events are kept this long (the outbox in Postgres is the record). */
const EVENT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export interface NatsEventBusOptions {
  readonly servers: string;
  /** Shown in the server's connection list. */
  readonly name: string;
  /** A NATS credentials file's content (user JWT and seed), when the server requires them. */
  readonly credentials?: string | undefined;
  readonly logger?: { error(message: string): void };
}

/**
 * The NATS adapter: wake-ups on core NATS, committed events on JetStream with deduplication by
 * (tenant, channel, seq), and one durable consumer per name that delivers in order, one event at a
 * time (max one unacknowledged). Reconnects forever; JetStream keeps what was published meanwhile.
 */
export class NatsEventBus extends EventBus {
  private readonly wakes = new Map<
    string,
    { subscription: Subscription; listeners: Set<() => void> }
  >();
  private readonly consumers = new Set<EventConsumer>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly logger: { error(message: string): void },
  ) {
    super();
    void this.watchStatus();
  }

  private reconnecting = false;

  /** Follows the connection's status, so readiness reflects a lost server at once. */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting') this.reconnecting = true;
      if (status.type === 'reconnect') this.reconnecting = false;
    }
  }

  static async connect(options: NatsEventBusOptions): Promise<NatsEventBus> {
    const nc = await connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...natsAuth(options.credentials),
    });
    const jsm = await jetstreamManager(nc);
    const config = {
      subjects: STREAM_SUBJECTS,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      max_age: nanos(EVENT_MAX_AGE_MS),
    };
    try {
      await jsm.streams.info(EVENT_STREAM);
      await jsm.streams.update(EVENT_STREAM, config);
    } catch {
      await jsm.streams.add({ name: EVENT_STREAM, ...config });
    }
    return new NatsEventBus(nc, jetstream(nc), jsm, options.logger ?? console);
  }

  publishWake(tenantId: TenantId, channelId: ChannelId): void {
    this.nc.publish(wakeSubject(tenantId, channelId));
  }

  onWake(tenantId: TenantId, channelId: ChannelId, listener: () => void): () => void {
    const subject = wakeSubject(tenantId, channelId);
    let entry = this.wakes.get(subject);
    if (!entry) {
      const listeners = new Set<() => void>();
      const subscription = this.nc.subscribe(subject, {
        callback: () => {
          for (const wake of [...listeners]) wake();
        },
      });
      entry = { subscription, listeners };
      this.wakes.set(subject, entry);
    }
    const { listeners, subscription } = entry;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.wakes.get(subject)?.listeners === listeners) {
        this.wakes.delete(subject);
        subscription.unsubscribe();
      }
    };
  }

  async publishEvent(event: ChannelEventMessage): Promise<void> {
    const valid = parseEventMessage(event);
    await this.js.publish(eventSubject(valid.tenantId, valid.channelId), JSON.stringify(valid), {
      msgID: `${valid.tenantId}.${valid.channelId}.${valid.seq}`,
    });
  }

  async consume(
    tenantId: TenantId,
    channelId: ChannelId,
    name: string,
    handle: EventHandler,
  ): Promise<EventConsumer> {
    const durable = durableName(tenantId, channelId, name);
    await this.jsm.consumers.add(EVENT_STREAM, durableConfig(tenantId, channelId, durable));
    const consumer = await consumeDurable(this.js, durable, handle, this.logger);
    const running: EventConsumer = {
      stop: async () => {
        await consumer.stop();
        this.consumers.delete(running);
      },
    };
    this.consumers.add(running);
    return running;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    for (const { subscription } of this.wakes.values()) subscription.unsubscribe();
    this.wakes.clear();
    await this.nc.drain();
  }

  /** Connected to NATS (not closed, draining or reconnecting). */
  isHealthy(): boolean {
    return !this.nc.isClosed() && !this.nc.isDraining() && !this.reconnecting;
  }
}

/** Connection options for a credentials file's content, if any. */
export function natsAuth(credentials: string | undefined): {
  authenticator?: ReturnType<typeof credsAuthenticator>;
} {
  return credentials
    ? { authenticator: credsAuthenticator(new TextEncoder().encode(credentials)) }
    : {};
}
