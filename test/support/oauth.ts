import { createHash, randomBytes } from 'node:crypto';

/** The loopback callback the test clients register; nothing listens there. */
export const TEST_REDIRECT_URI = 'http://127.0.0.1:7/callback';

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
 * The whole authorization-code flow against a server in the `open` mode, as a client would run
 * it: register, authorize (approved at once, for a new anonymous principal), exchange the code.
 */
export async function authorizeOpen(
  baseUrl: string,
  options: { clientId?: string; scope?: string } = {},
): Promise<TestTokens> {
  const clientId = options.clientId ?? (await registerClient(baseUrl)).client_id;
  const pkce = pkcePair();
  const extra: Record<string, string> = options.scope ? { scope: options.scope } : {};
  const redirect = await fetch(authorizeUrl(baseUrl, clientId, pkce, extra), {
    redirect: 'manual',
  });
  const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirect.headers.get('location')}`);
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
