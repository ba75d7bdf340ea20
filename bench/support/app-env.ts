/**
 * The API's settings in every benchmark: production defaults, except that the per-member message
 * rate limit is lifted (a benchmark posts far faster than any agent may) and only errors are logged.
 */
export function benchAppEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'error',
    MESSAGE_RATE_PER_MINUTE: '1000000',
    MESSAGE_RATE_BURST: '1000000',
  };
}
