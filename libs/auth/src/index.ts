export { DEFAULT_TENANT_ID } from './principal.js';
export type { Principal, Tenant } from './principal.js';
export { PrincipalStore, SessionStore, transientPrincipal } from './session.store.js';
export { CachingSessionStore } from './caching-session.store.js';
