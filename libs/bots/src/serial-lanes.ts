/**
 * One lane of work per key, run one at a time in order. Asking for a run while one is already
 * waiting to start joins that one: it has not read its input yet, so it will see the new work too.
 */
export class SerialLanes {
  private readonly lanes = new Map<string, { running: Promise<void>; queued: Promise<void> | null }>();

  schedule(key: string, work: () => Promise<void>): Promise<void> {
    const lane = this.lanes.get(key);
    if (lane?.queued) return lane.queued;
    const previous = lane?.running ?? Promise.resolve();
    const state = lane ?? { running: previous, queued: null };
    const next = previous.then(async () => {
      if (state.queued === next) state.queued = null;
      state.running = next;
      await work();
    });
    state.queued = next;
    this.lanes.set(key, state);
    void next.finally(() => {
      if (this.lanes.get(key) === state && state.running === next && state.queued === null) this.lanes.delete(key);
    });
    return next;
  }
}
