import { InitialSchema1763700000000 } from './1763700000000-initial-schema.js';
import { OAuth1763800000000 } from './1763800000000-oauth.js';
import { RowLevelSecurity1763900000000 } from './1763900000000-row-level-security.js';
import { ExternalIdentities1764000000000 } from './1764000000000-external-identities.js';
import { EventOutbox1764100000000 } from './1764100000000-event-outbox.js';
import { UsedFormSeals1764200000000 } from './1764200000000-used-form-seals.js';
import { BotRecoveryAttempts1764300000000 } from './1764300000000-bot-recovery-attempts.js';
import { InlineCodeRefNull1764400000000 } from './1764400000000-inline-code-ref-null.js';

/** Every migration, oldest first. */
export const MIGRATIONS = [
  InitialSchema1763700000000,
  OAuth1763800000000,
  RowLevelSecurity1763900000000,
  ExternalIdentities1764000000000,
  EventOutbox1764100000000,
  UsedFormSeals1764200000000,
  BotRecoveryAttempts1764300000000,
  InlineCodeRefNull1764400000000,
];
