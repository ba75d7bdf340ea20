import { NatsEventBus, NatsRunnerHub } from '#events';
import type { RunnerRequestHandlers } from '#events';
import { testNats } from './nats.js';

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

/**
 * The API's side of the runners on this run's NATS server, as a launcher test needs it: the event
 * stream made (the API's event bus makes it), and a hub that mints runner credentials.
 */
export async function connectTestRunnerHub(): Promise<NatsRunnerHub> {
  const { servers, credentials, signingKeyFile } = testNats();
  const logger = { error: () => undefined };
  await (await NatsEventBus.connect({ servers, credentials, name: 'stream', logger })).close();
  return NatsRunnerHub.connect({ servers, credentials, signingKeyFile, ackWaitMs: 5_000, logger });
}
