import type { RunnerRequestHandlers } from '#events';

/**
 * The API's side of the runner protocol for launcher tests: every runner loads a bot that does
 * nothing and has no events yet, and every commit is taken.
 */
export const QUIET_RUNNER_API: RunnerRequestHandlers = {
  load: () =>
    Promise.resolve({
      ok: true,
      bot: {
        code: 'export default class Quiet { onMessage() {} }',
        params: {},
        egress: [],
        state: {},
        lastEventSeq: 0,
        slots: [],
      },
    }),
  effects: () => Promise.resolve({ status: 'committed', stateApplied: false }),
};
