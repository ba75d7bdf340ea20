import type { ChannelId, TenantId } from '#core';
import { EventBus, wakeSubject } from './event-bus.js';

/** The embedded adapter: one process, no broker. Listener sets are dropped when empty. */
export class InProcessEventBus extends EventBus {
  private readonly listeners = new Map<string, Set<() => void>>();

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

  /** How many channels have waiters; for tests and benchmarks of long-poll memory. */
  get subscribedChannels(): number {
    return this.listeners.size;
  }
}
