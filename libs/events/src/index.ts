export { EventBus, RETRY_DELAY_MS, eventSubject, wakeSubject } from './event-bus.js';
export type { EventConsumer, EventHandler } from './event-bus.js';
export {
  InvalidEventMessageError,
  channelEventMessage,
  parseEventMessage,
} from './channel-event.message.js';
export type { ChannelEventMessage } from './channel-event.message.js';
export { InProcessEventBus } from './in-process-event-bus.js';
export { EVENT_STREAM, NatsEventBus } from './nats-event-bus.js';
export type { NatsEventBusOptions } from './nats-event-bus.js';
