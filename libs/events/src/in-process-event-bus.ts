import type { ChannelId, TenantId } from '#core';
import { parseEventMessage } from './channel-event.message.js';
import type { ChannelEventMessage, ReceivedChannelEvent } from './channel-event.message.js';
import { EventBus, RETRY_DELAY_MS, eventSubject, wakeSubject } from './event-bus.js';
import type { EventConsumer, EventHandler } from './event-bus.js';

/** Events kept per channel in memory; the oldest go first (as a stream's limits would drop them). */
const RETAINED_EVENTS = 10_000;

interface ChannelLog {
  readonly events: ReceivedChannelEvent[];
  /** Wakes the consumers waiting for the next event. */
  readonly waiting: Set<() => void>;
}

/**
 * The embedded adapter: one process, no broker, the same contract as the NATS one. Events and the
 * consumers' positions live in memory, so they last as long as the process.
 */
export class InProcessEventBus extends EventBus {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly logs = new Map<string, ChannelLog>();
  /** The last sequence number each durable consumer acknowledged. */
  private readonly acked = new Map<string, number>();
  private readonly running = new Set<{ stop(): Promise<void> }>();

  publishWake(tenantId: TenantId, channelId: ChannelId): void {
    const set = this.listeners.get(wakeSubject(tenantId, channelId));
    if (!set) return;
    for (const listener of [...set]) listener();
  }

  onWake(tenantId: TenantId, channelId: ChannelId, listener: () => void): () => void {
    const subject = wakeSubject(tenantId, channelId);
    let set = this.listeners.get(subject);
    if (!set) {
      set = new Set();
      this.listeners.set(subject, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(subject) === set) this.listeners.delete(subject);
    };
  }

  async publishEvent(event: ChannelEventMessage): Promise<void> {
    await Promise.resolve();
    const valid = parseEventMessage(event);
    const log = this.log(eventSubject(valid.tenantId, valid.channelId));
    const last = log.events.at(-1);
    if (last && valid.seq <= last.seq) return;
    log.events.push(structuredClone(valid));
    if (log.events.length > RETAINED_EVENTS) log.events.shift();
    for (const wake of [...log.waiting]) wake();
  }

  consume(
    tenantId: TenantId,
    channelId: ChannelId,
    name: string,
    handle: EventHandler,
  ): Promise<EventConsumer> {
    const log = this.log(eventSubject(tenantId, channelId));
    const key = `${eventSubject(tenantId, channelId)}/${name}`;
    // Shared with stop(): whether to go on, and how to wake the loop while it waits.
    const state: { stopped: boolean; wake: () => void } = { stopped: false, wake: () => undefined };
    const loop = (async () => {
      while (!state.stopped) {
        const after = this.acked.get(key) ?? 0;
        const next = log.events.find((event) => event.seq > after);
        if (!next) {
          await new Promise<void>((resolve) => {
            state.wake = resolve;
            log.waiting.add(resolve);
          });
          log.waiting.delete(state.wake);
          continue;
        }
        try {
          await handle(structuredClone(next));
          this.acked.set(key, next.seq);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        }
      }
    })();
    const consumer = {
      stop: async () => {
        state.stopped = true;
        state.wake();
        await loop;
        this.running.delete(consumer);
      },
    };
    this.running.add(consumer);
    return Promise.resolve(consumer);
  }

  async close(): Promise<void> {
    await Promise.all([...this.running].map((consumer) => consumer.stop()));
  }

  isHealthy(): boolean {
    return true;
  }

  /** How many channels have waiters; for tests and benchmarks of long-poll memory. */
  get subscribedChannels(): number {
    return this.listeners.size;
  }

  private log(subject: string): ChannelLog {
    let log = this.logs.get(subject);
    if (!log) {
      log = { events: [], waiting: new Set() };
      this.logs.set(subject, log);
    }
    return log;
  }
}
