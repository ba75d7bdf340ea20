import { z } from 'zod';
import { SCOPES } from './oauth.types.js';
import type { ClientAuthMethod, GrantType } from './oauth.types.js';
import { OAuthError } from './oauth.errors.js';
import { redirectUriProblem } from './redirect-uri.js';

/** Most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 10;

/**
 * The RFC 7591 §2 fields this server reads. Unknown fields are ignored, as §3.1 allows; the ones
 * read are checked strictly.
 */
const registrationRequest = z.object({
  redirect_uris: z.array(z.string()).max(MAX_REDIRECT_URIS).optional(),
  token_endpoint_auth_method: z
    .enum(['none', 'client_secret_basic', 'client_secret_post'])
    .optional(),
  grant_types: z
    .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
    .max(3)
    .optional(),
  response_types: z.array(z.literal('code')).max(1).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  client_name: z.string().max(200).optional(),
  client_uri: z.string().max(2000).optional(),
  logo_uri: z.string().max(2000).optional(),
  scope: z.string().max(500).optional(),
  software_id: z.string().max(200).optional(),
  software_version: z.string().max(100).optional(),
});

/** A registration request after validation, with the defaults of RFC 7591 §2 filled in. */
export interface ClientRegistration {
  readonly redirectUris: readonly string[];
  readonly authMethod: ClientAuthMethod;
  readonly grantTypes: readonly GrantType[];
  readonly applicationType: 'web' | 'native';
  readonly name: string;
  readonly scope: string;
  /** Whether the request named its grant types (false: the RFC 7591 default was taken). */
  readonly grantsNamed: boolean;
}

/** Validates an RFC 7591 registration request; throws the RFC's error codes with a reason. */
export function parseRegistration(body: unknown): ClientRegistration {
  const parsed = registrationRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    const code = field.startsWith('redirect_uris')
      ? 'invalid_redirect_uri'
      : 'invalid_client_metadata';
    throw new OAuthError(code, `${field}: ${issue?.message ?? 'invalid'}`);
  }
  const request = parsed.data;
  const grantTypes = request.grant_types ?? ['authorization_code'];
  const redirectUris = request.redirect_uris ?? [];
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new OAuthError(
      'invalid_redirect_uri',
      'redirect_uris is required for the authorization_code grant.',
    );
  }
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new OAuthError('invalid_redirect_uri', `redirect_uri ${problem}.`);
  }
  const authMethod = request.token_endpoint_auth_method ?? 'client_secret_basic';
  if (grantTypes.includes('client_credentials') && authMethod === 'none') {
    throw new OAuthError(
      'invalid_client_metadata',
      'The client_credentials grant needs a confidential client: use client_secret_basic or client_secret_post.',
    );
  }
  return {
    redirectUris,
    authMethod,
    grantTypes,
    applicationType: request.application_type ?? 'web',
    name: request.client_name?.trim() || 'Unnamed client',
    scope: parseScope(request.scope),
    grantsNamed: request.grant_types !== undefined,
  };
}

/**
 * The one scope of the Python original (docs/compat.md), which its scripts ask for: it stands for
 * every scope this server grants.
 */
const ORIGINAL_SCOPE = 'mcp';

/**
 * A requested scope as a normalised space-separated list; every scope present must be one this
 * server grants (RFC 6749 §3.3). No scope means all of them; `mcp` means all of them too.
 */
export function parseScope(scope: string | undefined, within: string = SCOPES.join(' ')): string {
  const allowed = new Set(within.split(' '));
  const requested = (scope ?? '')
    .split(' ')
    .filter(Boolean)
    .flatMap((s) => (s === ORIGINAL_SCOPE ? [...SCOPES] : [s]));
  if (requested.length === 0) return within;
  const unknown = requested.find((s) => !allowed.has(s));
  if (unknown !== undefined) {
    throw new OAuthError(
      'invalid_scope',
      `Scope "${unknown.slice(0, 64)}" is not available; use any of: ${[...allowed].join(' ')}.`,
    );
  }
  return [...new Set(requested)].join(' ');
}

/** Longest a metadata document is trusted without fetching it again, and shortest. */
const METADATA_MAX_AGE_SECONDS = 24 * 3600;
const METADATA_MIN_AGE_SECONDS = 300;

/**
 * Checks a Client ID Metadata Document: it must name itself (`client_id` equal to its URL), list
 * valid redirect URIs, and describe a public client, since nothing else could prove a secret.
 * Returns the registration it amounts to and how long to keep it.
 */
export function parseMetadataDocument(
  url: string,
  document: unknown,
  maxAgeSeconds: number | null,
): { registration: ClientRegistration; ttlSeconds: number } {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new OAuthError('invalid_client', 'The client metadata document is not a JSON object.');
  }
  if ((document as { client_id?: unknown }).client_id !== url) {
    throw new OAuthError(
      'invalid_client',
      'The client metadata document must give its own URL as client_id.',
    );
  }
  let registration: ClientRegistration;
  try {
    registration = parseRegistration({ token_endpoint_auth_method: 'none', ...document });
  } catch (error) {
    if (error instanceof OAuthError) {
      throw new OAuthError(
        'invalid_client',
        `The client metadata document is invalid: ${error.message}`,
      );
    }
    throw error;
  }
  if (
    registration.authMethod !== 'none' ||
    registration.grantTypes.includes('client_credentials')
  ) {
    throw new OAuthError(
      'invalid_client',
      'A client known by its metadata document is public: token_endpoint_auth_method must be "none".',
    );
  }
  const ttlSeconds = Math.min(
    METADATA_MAX_AGE_SECONDS,
    Math.max(METADATA_MIN_AGE_SECONDS, maxAgeSeconds ?? 3600),
  );
  return { registration, ttlSeconds };
}

/** Whether a client id is a metadata document URL: https with a path (the draft's rule). */
export function isMetadataDocumentUrl(clientId: string): boolean {
  try {
    const url = new URL(clientId);
    return url.protocol === 'https:' && url.pathname !== '/' && !url.hash && !url.username;
  } catch {
    return false;
  }
}
