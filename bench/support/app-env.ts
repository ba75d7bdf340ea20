import type { TestNatsServer } from '../../test/support/nats-server.mjs';

/**
 * The API's settings in every benchmark: production defaults, except that the per-member message
 * rate limit and the OAuth rate limits are lifted (a benchmark posts and signs clients in far
 * faster than any agent may) and only errors are logged. Clients authorize in the `open` mode.
 */
export function benchAppEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'error',
    MESSAGE_RATE_PER_MINUTE: '1000000',
    MESSAGE_RATE_BURST: '1000000',
    OAUTH_RATE_PER_MINUTE: '1000000',
    OAUTH_RATE_BURST: '1000000',
  };
}

/** The settings that connect the API to a NATS server started for the benchmark. */
export function natsAppEnv(nats: TestNatsServer): Record<string, string> {
  return { NATS_URL: nats.url, NATS_CREDS_FILE: nats.credsFile };
}
