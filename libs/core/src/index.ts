export { DomainError, InvalidRequestError, InternalError } from './domain-error.js';
export type { ErrorKind } from './domain-error.js';
export { randomId } from './ids.js';
export type { Brand, TenantId, PrincipalId, ChannelId, SlotId, BotId } from './ids.js';
export { sha256Hex, taggedSha256, pythonJsonDumps } from './hashing.js';
export { Clock, SystemClock } from './clock.js';
export { describeInputError } from './input-error.js';
export { MAX_JSON_DEPTH, findUnstorableText, isStorableText } from './storable-text.js';
export { TokenBucketLimiter } from './token-bucket.limiter.js';
