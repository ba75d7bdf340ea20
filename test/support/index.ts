// What library integration tests may use. End-to-end helpers (test-app, mcp-client) import the
// API application and are imported by test/e2e directly, so libraries never reach apps.
export { freePort } from './free-port.js';
export { createTestDatabase } from './test-database.js';
export type { Engine, TestDatabase } from './test-database.js';
export { selfSignedCertificate } from './tls.js';
export type { TestCertificate } from './tls.js';
export { natsOf, testNats } from './nats.js';
export type { TestNats } from './nats.js';
export { channelWithBot } from './channel-draft.js';
export { QUIET_RUNNER_API, connectTestRunnerHub } from './quiet-runner-api.js';
export { startRunnerProcess } from './runner-process.js';
