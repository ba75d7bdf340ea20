import { DEFAULT_TENANT_ID } from '#auth';
import type { AccessTokenSettings, AuthorizationSettings } from '#auth';
import type { AppConfig } from '../config/app.config.js';
import { underEverySpelling } from './loopback-spellings.js';

/** The access-token settings the configuration implies (server and admin CLI alike). */
export function accessTokenSettings(config: AppConfig): AccessTokenSettings {
  return {
    issuer: config.publicUrl,
    audiences: acceptedResources(config),
    ttlSeconds: config.accessTokenTtlSeconds,
    keyRotationSeconds: config.signingKeyRotationSeconds,
  };
}

/** The authorization-server settings the configuration implies. */
export function authorizationSettings(config: AppConfig): AuthorizationSettings {
  return {
    issuer: config.publicUrl,
    resources: acceptedResources(config),
    codeTtlSeconds: config.authCodeTtlSeconds,
    refreshTtlSeconds: config.refreshTokenTtlSeconds,
    refreshGraceSeconds: config.refreshGraceSeconds,
    dynamicClientCredentials: config.authMode === 'open',
    defaultTenantId: DEFAULT_TENANT_ID,
  };
}

/**
 * The resource indicators (RFC 8707) tokens are issued for and accepted with: the canonical ones
 * first, then the same under the other loopback spellings when PUBLIC_URL is on loopback.
 */
function acceptedResources(config: AppConfig): readonly string[] {
  return underEverySpelling(config.publicUrl, config.resources);
}
