export { createTestDatabase } from './test-database.js';
export type { Engine, TestDatabase } from './test-database.js';
export { freePort } from './free-port.js';
