export { EventBus, wakeSubject } from './event-bus.js';
export { InProcessEventBus } from './in-process-event-bus.js';
