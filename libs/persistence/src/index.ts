export { Database } from './database.js';
export type { DatabaseOptions } from './database.js';
export { DataDirInUseError, DataDirLock } from './data-dir-lock.js';
export { TypeOrmChannelStore } from './typeorm-channel.store.js';
export { TypeOrmPrincipalStore, TypeOrmSessionStore } from './typeorm-session.store.js';
export { TypeOrmOAuthStore } from './typeorm-oauth.store.js';
export { TypeOrmAccountStore } from './typeorm-account.store.js';
export { TypeOrmEventOutbox } from './typeorm-event-outbox.js';
