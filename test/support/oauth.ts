import { createHash, randomBytes } from 'node:crypto';
import { signInThroughPages } from './browser-steps.mjs';

/** The loopback callback the test clients register; nothing listens there (a port browsers allow). */
export const TEST_REDIRECT_URI = 'http://127.0.0.1:65529/callback';

export interface TestTokens {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly clientId: string;
}

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

export function pkcePair(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** RFC 7591 registration of a public client with the test callback; returns the response. */
export async function registerClient(
  baseUrl: string,
  metadata: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { client_id: string; client_secret?: string }> {
  const response = await fetch(`${baseUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'e2e client',
      redirect_uris: [TEST_REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown> & { client_id: string };
}

/** The authorize request URL for a client, with PKCE and the canonical resource. */
export function authorizeUrl(
  baseUrl: string,
  clientId: string,
  pkce: Pkce,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: TEST_REDIRECT_URI,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    resource: `${baseUrl}/mcp`,
    ...extra,
  });
  return `${baseUrl}/oauth/authorize?${params.toString()}`;
}

/** Posts a form to the token endpoint; returns the status and the JSON answer. */
export async function tokenRequest(
  baseUrl: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * The whole authorization-code flow as a client runs it: register, send the person through the
 * authorization pages (signing in with `credentials` in the `local` mode; none in the `open` mode,
 * where a new anonymous principal is approved at once), then exchange the code.
 */
export async function authorize(
  baseUrl: string,
  credentials: { username: string; password: string } | null,
  options: { clientId?: string; scope?: string } = {},
): Promise<TestTokens> {
  const clientId = options.clientId ?? (await registerClient(baseUrl)).client_id;
  const pkce = pkcePair();
  const extra: Record<string, string> = options.scope ? { scope: options.scope } : {};
  const outcome = await signInThroughPages(
    authorizeUrl(baseUrl, clientId, pkce, extra),
    credentials,
  );
  const code = outcome.redirect?.searchParams.get('code');
  if (!code)
    throw new Error(`no code (HTTP ${outcome.status}): ${outcome.redirect?.href ?? outcome.html}`);
  const { status, body } = await tokenRequest(baseUrl, {
    grant_type: 'authorization_code',
    code,
    code_verifier: pkce.verifier,
    client_id: clientId,
    redirect_uri: TEST_REDIRECT_URI,
    resource: `${baseUrl}/mcp`,
  });
  if (status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return {
    accessToken: body['access_token'] as string,
    refreshToken: body['refresh_token'] as string | undefined,
    clientId,
  };
}

/** {@link authorize} against a server in the `open` mode: a new anonymous principal. */
export function authorizeOpen(
  baseUrl: string,
  options: { clientId?: string; scope?: string } = {},
): Promise<TestTokens> {
  return authorize(baseUrl, null, options);
}

/** The credentials `admin client create` printed → an access token by client credentials. */
export async function serviceToken(
  baseUrl: string,
  adminOutput: string,
  scope?: string,
): Promise<string> {
  const clientId = /^client_id=(\S+)$/m.exec(adminOutput)?.[1];
  const secret = /^client_secret=(\S+)$/m.exec(adminOutput)?.[1];
  if (!clientId || !secret) throw new Error(`no client credentials in:\n${adminOutput}`);
  const basic = Buffer.from(
    `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`,
  ).toString('base64');
  const { status, body } = await tokenRequest(
    baseUrl,
    { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
    { authorization: `Basic ${basic}` },
  );
  if (status !== 200) throw new Error(`client credentials failed: ${JSON.stringify(body)}`);
  return body['access_token'] as string;
}

/** The claims of a JWT's payload, read without checking the signature. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
