// One implementation, shared with the global setup (which must stay plain JavaScript).
export { freePort } from './postgres-server.mjs';
