export {
  EventBus,
  RETRY_DELAY_MS,
  SubjectTokenError,
  eventSubject,
  wakeSubject,
} from './event-bus.js';
export type { EventConsumer, EventHandler } from './event-bus.js';
export {
  InvalidEventMessageError,
  channelEventMessage,
  parseEventMessage,
} from './channel-event.message.js';
export type { ChannelEventMessage, ReceivedChannelEvent } from './channel-event.message.js';
export { InProcessEventBus } from './in-process-event-bus.js';
export { NatsEventBus } from './nats-event-bus.js';
export { EVENT_STREAM } from './nats-consumer.js';
export type { NatsEventBusOptions } from './nats-event-bus.js';
export {
  NatsRunnerHub,
  NatsRunnerLink,
  runnerDurable,
  runnerInboxPrefix,
  runnerPermissions,
} from './nats-runners.js';
export type { NatsRunnerHubOptions, RunnerRequestHandlers } from './nats-runners.js';
export {
  addressOfSubject,
  botSubject,
  effectsReply,
  effectsRequest,
  loadReply,
  runnerBot,
} from './runner-protocol.js';
export type {
  BotAddress,
  EffectsReply,
  EffectsRequest,
  LoadReply,
  RunnerBot,
} from './runner-protocol.js';
export { natsAuth } from './nats-event-bus.js';
