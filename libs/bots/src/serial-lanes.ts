/**
 * One lane of catch-up work per key, run one at a time. The work of a key must be "catch up to
 * now" (read what is pending, process it), because a request made while a run is waiting to start
 * joins that run instead of adding another: the waiting run has not read its input yet, so it will
 * see whatever the request was about.
 */
export class SerialLanes {
  private readonly lanes = new Map<
    string,
    { running: Promise<void>; queued: Promise<void> | null }
  >();

  schedule(key: string, work: () => Promise<void>): Promise<void> {
    const lane = this.lanes.get(key);
    if (lane?.queued) return lane.queued;
    const state = lane ?? { running: Promise.resolve(), queued: null };
    const start = async () => {
      state.queued = null;
      state.running = next;
      await work();
    };
    // A failed run does not stop the lane: the next run starts either way.
    const next: Promise<void> = state.running.then(start, start);
    state.queued = next;
    this.lanes.set(key, state);
    const forget = () => {
      if (this.lanes.get(key) === state && state.running === next && state.queued === null)
        this.lanes.delete(key);
    };
    next.then(forget, forget);
    return next;
  }
}
