import { DEFAULT_TENANT_ID } from '#auth';
import type { AccessTokenSettings, AuthorizationSettings } from '#auth';
import type { AppConfig } from '../config/app.config.js';

/** The access-token settings the configuration implies (server and admin CLI alike). */
export function accessTokenSettings(config: AppConfig): AccessTokenSettings {
  return {
    issuer: config.publicUrl,
    audiences: config.resources,
    ttlSeconds: config.accessTokenTtlSeconds,
    keyRotationSeconds: config.signingKeyRotationSeconds,
  };
}

/** The authorization-server settings the configuration implies. */
export function authorizationSettings(config: AppConfig): AuthorizationSettings {
  return {
    issuer: config.publicUrl,
    resources: config.resources,
    codeTtlSeconds: config.authCodeTtlSeconds,
    refreshTtlSeconds: config.refreshTokenTtlSeconds,
    refreshGraceSeconds: config.refreshGraceSeconds,
    dynamicClientCredentials: config.authMode === 'open',
    defaultTenantId: DEFAULT_TENANT_ID,
  };
}
