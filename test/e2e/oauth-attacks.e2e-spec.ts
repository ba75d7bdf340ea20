import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, generateKeyPair } from 'jose';
import { AccessTokens } from '#auth';
import type { Principal, PrincipalKind } from '#auth';
import type { PrincipalId, TenantId } from '#core';
import { hiddenInput, postForm } from '../support/browser-steps.mjs';
import {
  TEST_REDIRECT_URI,
  authorizeOpen,
  authorizeUrl,
  pkcePair,
  registerClient,
} from '../support/oauth.js';
import type { Pkce } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

/**
 * Attacks on the authorization server and on the resource server's token check, each through real
 * HTTP: every refusal is checked for its status, its OAuth `error` code, and that no token (or
 * code) came with it.
 */

type Params = Record<string, string | undefined>;

interface TokenAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

/** Posts to the token endpoint; `undefined` parameters are left out. */
async function postToken(
  baseUrl: string,
  params: Params,
  headers: Record<string, string> = {},
  path = '/oauth/token',
): Promise<TokenAnswer> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) form.set(name, value);
  }
  return postRaw(baseUrl, path, form.toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    ...headers,
  });
}

async function postRaw(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<TokenAnswer> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { unparsable: text };
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** A refusal in the RFC 6749 §5.2 shape, with nothing granted alongside it. */
function expectRefused(answer: TokenAnswer, status: number, error: string): void {
  expect({ status: answer.status, error: answer.body['error'] }).toEqual({ status, error });
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
  expect(typeof answer.body['error_description']).toBe('string');
  expect(answer.text).not.toMatch(/"access_token"|"refresh_token"|mrt_|eyJ/);
}

function basic(clientId: string, secret: string): Record<string, string> {
  const encode = (value: string) => encodeURIComponent(value);
  return {
    authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`,
  };
}

interface AuthorizeAnswer {
  readonly status: number;
  readonly location: URL | null;
  readonly contentType: string;
  readonly state: string;
  readonly pkce: Pkce;
}

/**
 * Sends an authorization request (GET, redirects not followed). `extra` overrides the usual
 * parameters; an `undefined` value leaves that parameter out.
 */
async function authorizeRequest(
  baseUrl: string,
  clientId: string,
  extra: Params = {},
  pkce: Pkce = pkcePair(),
): Promise<AuthorizeAnswer> {
  const state = `st-${Math.random().toString(36).slice(2)}`;
  const all: Params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: TEST_REDIRECT_URI,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    state,
    resource: `${baseUrl}/mcp`,
    ...extra,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined) query.set(name, value);
  }
  const res = await fetch(`${baseUrl}/oauth/authorize?${query.toString()}`, {
    redirect: 'manual',
  });
  await res.text();
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location === null ? null : new URL(location),
    contentType: res.headers.get('content-type') ?? '',
    state,
    pkce,
  };
}

/** An authorization that must succeed: the code the redirect carries, with its verifier. */
async function authorizeCode(
  baseUrl: string,
  clientId: string,
  extra: Params = {},
): Promise<{ code: string; pkce: Pkce; location: URL }> {
  const answer = await authorizeRequest(baseUrl, clientId, extra);
  expect(answer.status).toBe(302);
  const code = answer.location?.searchParams.get('code');
  if (!answer.location || !code) throw new Error(`no code in ${String(answer.location)}`);
  return { code, pkce: answer.pkce, location: answer.location };
}

/** The authorization-code grant with the usual parameters; `extra` overrides them. */
function exchange(
  baseUrl: string,
  clientId: string,
  code: string,
  verifier: string,
  extra: Params = {},
  headers: Record<string, string> = {},
): Promise<TokenAnswer> {
  return postToken(
    baseUrl,
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: TEST_REDIRECT_URI,
      resource: `${baseUrl}/mcp`,
      ...extra,
    },
    headers,
  );
}

function refresh(
  baseUrl: string,
  clientId: string,
  refreshToken: string,
  extra: Params = {},
): Promise<TokenAnswer> {
  return postToken(baseUrl, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: clientId,
    resource: `${baseUrl}/mcp`,
    ...extra,
  });
}

/** The claims of a JWT, unverified. */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

function principalOf(jwt: string): Principal {
  const claims = claimsOf(jwt);
  return {
    tenantId: claims['tid'] as TenantId,
    id: claims['sub'] as PrincipalId,
    kind: claims['pkd'] as PrincipalKind,
  };
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An MCP `initialize` with a bearer token; the guard decides before MCP sees it. */
async function mcpWith(baseUrl: string, token: string): Promise<Response> {
  const res = await fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'attacker', version: '1' },
      },
    }),
  });
  await res.text();
  return res;
}

async function register(
  baseUrl: string,
  metadata: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface FormAnswer {
  readonly status: number;
  readonly location: URL | null;
  readonly html: string;
}

/** Posts a page's form as a browser would (redirects not followed). */
async function submit(url: string, fields: Record<string, string>): Promise<FormAnswer> {
  const res = await postForm(url, fields);
  const location = res.headers.get('location');
  return {
    status: res.status,
    location: location === null ? null : new URL(location),
    html: await res.text(),
  };
}

/** The sealed request of the login page a new authorization request shows. */
async function loginForm(baseUrl: string, clientId: string): Promise<string> {
  const res = await fetch(authorizeUrl(baseUrl, clientId, pkcePair()), { redirect: 'manual' });
  expect(res.status).toBe(200);
  return hiddenInput(await res.text(), 'request');
}

/** The sealed grant of the consent page shown after signing in. */
async function consentForm(
  baseUrl: string,
  clientId: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const signedIn = await submit(`${baseUrl}/oauth/login`, {
    request: await loginForm(baseUrl, clientId),
    ...credentials,
  });
  expect(signedIn.status).toBe(200);
  return hiddenInput(signedIn.html, 'grant');
}

/** What a form posted again must answer: the stale-form page, and no code anywhere. */
function expectStaleForm(answer: FormAnswer): void {
  expect({ status: answer.status, location: answer.location }).toEqual({
    status: 400,
    location: null,
  });
  expect(answer.html).toMatch(/start signing in again/);
  expect(answer.html).not.toMatch(/mac_|code=/);
}

describe('OAuth attacks on an open-mode server', () => {
  let app: TestApp;
  let url: string;

  beforeAll(async () => {
    app = await startTestApp();
    url = app.url;
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('PKCE', () => {
    it('refuses an authorization request without code_challenge, or with the plain method, on the redirect', async () => {
      const { client_id: clientId } = await registerClient(url);
      const pkce = pkcePair();
      for (const extra of [
        { code_challenge: undefined },
        { code_challenge_method: undefined },
        { code_challenge_method: 'plain', code_challenge: pkce.verifier },
      ]) {
        const answer = await authorizeRequest(url, clientId, extra, pkce);
        expect(answer.status).toBe(302);
        const location = answer.location!;
        expect(`${location.origin}${location.pathname}`).toBe(TEST_REDIRECT_URI);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('iss')).toBe(url);
        expect(location.searchParams.get('state')).toBe(answer.state);
        expect(location.searchParams.has('code')).toBe(false);
      }
    });

    it('burns a code presented with the wrong code_verifier: the right one fails afterwards', async () => {
      const { client_id: clientId } = await registerClient(url);
      const { code, pkce } = await authorizeCode(url, clientId);
      expectRefused(await exchange(url, clientId, code, pkcePair().verifier), 400, 'invalid_grant');
      expectRefused(await exchange(url, clientId, code, pkce.verifier), 400, 'invalid_grant');
    });

    it('refuses a code_verifier outside the RFC 7636 alphabet or length', async () => {
      const { client_id: clientId } = await registerClient(url);
      for (const verifier of ['short', 'a'.repeat(42), `${'a'.repeat(43)}!`]) {
        const { code } = await authorizeCode(url, clientId);
        expectRefused(await exchange(url, clientId, code, verifier), 400, 'invalid_grant');
      }
      const { code } = await authorizeCode(url, clientId);
      expectRefused(
        await exchange(url, clientId, code, pkcePair().verifier, { code_verifier: undefined }),
        400,
        'invalid_request',
      );
    });
  });

  describe('authorization codes', () => {
    it('refuses a replayed code and revokes the refresh tokens its first use issued', async () => {
      const { client_id: clientId } = await registerClient(url);
      const { code, pkce } = await authorizeCode(url, clientId);
      const first = await exchange(url, clientId, code, pkce.verifier);
      expect(first.status).toBe(200);
      const refreshToken = first.body['refresh_token'] as string;

      expectRefused(await exchange(url, clientId, code, pkce.verifier), 400, 'invalid_grant');
      expectRefused(await refresh(url, clientId, refreshToken), 400, 'invalid_grant');
    });

    it('refuses a code another client presents, and the code is then spent', async () => {
      const { client_id: victim } = await registerClient(url);
      const { client_id: thief } = await registerClient(url);
      const { code, pkce } = await authorizeCode(url, victim);
      expectRefused(await exchange(url, thief, code, pkce.verifier), 400, 'invalid_grant');
      expectRefused(await exchange(url, victim, code, pkce.verifier), 400, 'invalid_grant');
    });

    it('refuses a made-up code', async () => {
      const { client_id: clientId } = await registerClient(url);
      const verifier = pkcePair().verifier;
      expectRefused(
        await exchange(url, clientId, `mac_${'A'.repeat(43)}`, verifier),
        400,
        'invalid_grant',
      );
    });

    it('revokes what the winner got when two concurrent uses of one code race', async () => {
      // The race is timing-dependent, so it is run a few times. Every round ends with at most one
      // winner (none when the replay is seen before the first use stored its token), and a
      // winner's refresh token is revoked (RFC 6749 §4.1.2).
      const { client_id: clientId } = await registerClient(url);
      const survivors: number[] = [];
      for (let round = 0; round < 5; round++) {
        const { code, pkce } = await authorizeCode(url, clientId);
        const answers = await Promise.all([
          exchange(url, clientId, code, pkce.verifier),
          exchange(url, clientId, code, pkce.verifier),
        ]);
        const winners = answers.filter((answer) => answer.status === 200);
        expect(winners.length).toBeLessThanOrEqual(1);
        for (const refused of answers.filter((answer) => answer.status !== 200)) {
          expectRefused(refused, 400, 'invalid_grant');
        }
        for (const winner of winners) {
          const refreshToken = winner.body['refresh_token'] as string;
          if ((await refresh(url, clientId, refreshToken)).status === 200) survivors.push(round);
        }
      }
      expect({ roundsWhoseTokensSurvivedTheReplay: survivors }).toEqual({
        roundsWhoseTokensSurvivedTheReplay: [],
      });
    });
  });

  describe('redirect URIs', () => {
    it('shows an error page, and does not redirect, for a redirect_uri the client did not register', async () => {
      const { client_id: clientId } = await registerClient(url);
      for (const redirectUri of [
        'https://evil.example/callback',
        'http://127.0.0.1:65529/other',
        'http://localhost:65529/callback',
        'http://127.0.0.1:65529/callback?next=https://evil.example',
      ]) {
        const answer = await authorizeRequest(url, clientId, { redirect_uri: redirectUri });
        expect({ redirectUri, status: answer.status }).toEqual({ redirectUri, status: 400 });
        expect(answer.contentType).toMatch(/^text\/html/);
        expect(answer.location).toBeNull();
      }
    });

    it('shows an error page, and does not redirect, for a registered redirect_uri with a fragment (RFC 6749 §3.1.2)', async () => {
      const { client_id: clientId } = await registerClient(url);
      for (const redirectUri of [
        `${TEST_REDIRECT_URI}#frag`,
        `${TEST_REDIRECT_URI}#`,
        'http://127.0.0.1:5555/callback#frag',
        'http://127.0.0.1:5555/callback#',
      ]) {
        const answer = await authorizeRequest(url, clientId, { redirect_uri: redirectUri });
        expect({ redirectUri, status: answer.status }).toEqual({ redirectUri, status: 400 });
        expect(answer.contentType).toMatch(/^text\/html/);
        expect(answer.location).toBeNull();
      }
    });

    it('shows an error page for an unknown client_id', async () => {
      const answer = await authorizeRequest(url, `mcc_${'x'.repeat(22)}`);
      expect(answer.status).toBe(400);
      expect(answer.contentType).toMatch(/^text\/html/);
      expect(answer.location).toBeNull();
    });

    it('refuses a token request whose redirect_uri differs from the authorization request', async () => {
      const { client_id: clientId } = await registerClient(url, {
        redirect_uris: [TEST_REDIRECT_URI, 'http://127.0.0.1:65529/second'],
      });
      const { code, pkce } = await authorizeCode(url, clientId);
      expectRefused(
        await exchange(url, clientId, code, pkce.verifier, {
          redirect_uri: 'http://127.0.0.1:65529/second',
        }),
        400,
        'invalid_grant',
      );
      const again = await authorizeCode(url, clientId);
      expectRefused(
        await exchange(url, clientId, again.code, again.pkce.verifier, {
          redirect_uri: undefined,
        }),
        400,
        'invalid_grant',
      );
    });

    it('accepts a loopback redirect on another port (RFC 8252 §7.3)', async () => {
      const { client_id: clientId } = await registerClient(url);
      const redirectUri = 'http://127.0.0.1:5555/callback';
      const { code, pkce, location } = await authorizeCode(url, clientId, {
        redirect_uri: redirectUri,
      });
      expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
      const answer = await exchange(url, clientId, code, pkce.verifier, {
        redirect_uri: redirectUri,
      });
      expect(answer.status).toBe(200);
    });
  });

  describe('resource indicators (RFC 8707)', () => {
    it('refuses an authorization request for another server on the redirect', async () => {
      const { client_id: clientId } = await registerClient(url);
      for (const resource of ['https://evil.example/mcp', `${url}/mcp#frag`, `${url}/other`]) {
        const answer = await authorizeRequest(url, clientId, { resource });
        expect(answer.status).toBe(302);
        const location = answer.location!;
        expect(`${location.origin}${location.pathname}`).toBe(TEST_REDIRECT_URI);
        expect(location.searchParams.get('error')).toBe('invalid_target');
        expect(location.searchParams.get('iss')).toBe(url);
        expect(location.searchParams.get('state')).toBe(answer.state);
        expect(location.searchParams.has('code')).toBe(false);
      }
    });

    it('refuses a token request for another resource than the one authorized', async () => {
      const { client_id: clientId } = await registerClient(url);
      for (const resource of ['https://evil.example/mcp', `${url}/api/v1`]) {
        const { code, pkce } = await authorizeCode(url, clientId);
        expectRefused(
          await exchange(url, clientId, code, pkce.verifier, { resource }),
          400,
          'invalid_target',
        );
      }
    });

    it('accepts the MCP resource with a trailing slash, and binds the token to the canonical one', async () => {
      const { client_id: clientId } = await registerClient(url);
      const { code, pkce } = await authorizeCode(url, clientId, { resource: `${url}/mcp/` });
      const answer = await exchange(url, clientId, code, pkce.verifier, {
        resource: `${url}/mcp/`,
      });
      expect(answer.status).toBe(200);
      expect(claimsOf(answer.body['access_token'] as string)['aud']).toBe(`${url}/mcp`);
    });
  });

  describe('access tokens at /mcp', () => {
    let tokens: AccessTokens;
    let principal: Principal;
    let clientId: string;
    let realToken: string;
    const challenge = () =>
      `Bearer error="invalid_token", resource_metadata="${url}/.well-known/oauth-protected-resource/mcp", scope="channels:read channels:write"`;

    beforeAll(async () => {
      tokens = app.nest.get(AccessTokens);
      const granted = await authorizeOpen(url);
      realToken = granted.accessToken;
      clientId = granted.clientId;
      principal = principalOf(realToken);
    });

    async function expectInvalidToken(token: string): Promise<void> {
      const res = await mcpWith(url, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(challenge());
    }

    function subject(audience: string) {
      return { principal, clientId, scope: 'channels:read channels:write', audience };
    }

    it('accepts the real token and one the server signs for its own audience', async () => {
      expect((await mcpWith(url, realToken)).status).toBe(200);
      const { token } = await tokens.sign(subject(`${url}/mcp`));
      expect((await mcpWith(url, token)).status).toBe(200);
    });

    it('refuses a token of its own key for another audience', async () => {
      const { token } = await tokens.sign(subject('https://other.example/mcp'));
      await expectInvalidToken(token);
    });

    it('refuses a token whose payload was altered', async () => {
      const [header, payload, signature] = realToken.split('.') as [string, string, string];
      const at = 20;
      const flipped = payload[at] === 'A' ? 'B' : 'A';
      await expectInvalidToken(
        `${header}.${payload.slice(0, at)}${flipped}${payload.slice(at + 1)}.${signature}`,
      );
      const escalated = encodeSegment({ ...claimsOf(realToken), tid: 'ten_acme' });
      await expectInvalidToken(`${header}.${escalated}.${signature}`);
    });

    it('refuses an expired token', async () => {
      const { kid } = (await tokens.publicKeys()).keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const { token } = await tokens.sign(subject(`${url}/mcp`), {
        jti: 'x',
        iat: now - 7200,
        exp: now - 3600,
        kid: kid!,
      });
      await expectInvalidToken(token);
    });

    it('refuses an unsigned token (alg none) and one signed by another key under our kid', async () => {
      const [header] = realToken.split('.') as [string];
      const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
      const claims = claimsOf(realToken);
      for (const alg of ['none', 'None']) {
        await expectInvalidToken(
          `${encodeSegment({ alg, typ: 'at+jwt', kid })}.${encodeSegment(claims)}.`,
        );
      }
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .sign(privateKey);
      await expectInvalidToken(forged);
    });
  });

  describe('refresh tokens', () => {
    it('rotates a refresh token, and a refresh without resource keeps the stored one', async () => {
      const { refreshToken, clientId } = await authorizeOpen(url);
      const answer = await refresh(url, clientId, refreshToken!, { resource: undefined });
      expect(answer.status).toBe(200);
      const next = answer.body['refresh_token'] as string;
      expect(next).toMatch(/^mrt_/);
      expect(next).not.toBe(refreshToken);
      const accessToken = answer.body['access_token'] as string;
      expect(claimsOf(accessToken)['aud']).toBe(`${url}/mcp`);
      expect((await mcpWith(url, accessToken)).status).toBe(200);
      expect((await refresh(url, clientId, next)).status).toBe(200);
    });

    it('gives two concurrent refreshes with one token the same pair', async () => {
      const { refreshToken, clientId } = await authorizeOpen(url);
      const [a, b] = await Promise.all([
        refresh(url, clientId, refreshToken!),
        refresh(url, clientId, refreshToken!),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body['refresh_token']).toBe(b.body['refresh_token']);
      expect(a.body['access_token']).toBe(b.body['access_token']);
      expect(a.body['refresh_token']).not.toBe(refreshToken);
      expect((await refresh(url, clientId, a.body['refresh_token'] as string)).status).toBe(200);
    });

    it('refuses a refresh token another client presents', async () => {
      const { refreshToken } = await authorizeOpen(url);
      const { client_id: thief } = await registerClient(url);
      expectRefused(await refresh(url, thief, refreshToken!), 400, 'invalid_grant');
    });

    it('refuses a refresh for another resource, and a made-up refresh token', async () => {
      const { refreshToken, clientId } = await authorizeOpen(url);
      expectRefused(
        await refresh(url, clientId, refreshToken!, { resource: 'https://evil.example/mcp' }),
        400,
        'invalid_target',
      );
      expectRefused(await refresh(url, clientId, `mrt_${'A'.repeat(43)}`), 400, 'invalid_grant');
    });
  });

  describe('client authentication', () => {
    it('refuses an unknown client_id with invalid_client', async () => {
      const answer = await exchange(
        url,
        `mcc_${'x'.repeat(22)}`,
        `mac_${'A'.repeat(43)}`,
        pkcePair().verifier,
      );
      expectRefused(answer, 401, 'invalid_client');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('refuses a confidential client with a wrong or missing secret, and does not burn the code', async () => {
      const registered = await registerClient(url, {
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
      });
      const clientId = registered.client_id;
      const secret = registered.client_secret!;
      expect(secret).toMatch(/^mcs_/);
      const { code, pkce } = await authorizeCode(url, clientId);
      const noId = { client_id: undefined };

      const wrong = await exchange(url, clientId, code, pkce.verifier, noId, {
        ...basic(clientId, `${secret}x`),
      });
      expectRefused(wrong, 401, 'invalid_client');
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(wrong.text).not.toContain(secret);

      expectRefused(await exchange(url, clientId, code, pkce.verifier), 401, 'invalid_client');
      expectRefused(
        await exchange(url, clientId, code, pkce.verifier, { client_secret: 'guess' }),
        401,
        'invalid_client',
      );
      expectRefused(
        await exchange(url, clientId, code, pkce.verifier, noId, { authorization: 'Basic Og==' }),
        401,
        'invalid_client',
      );

      const right = await exchange(url, clientId, code, pkce.verifier, noId, {
        ...basic(clientId, secret),
      });
      expect(right.status).toBe(200);
    });

    it('refuses the client_credentials grant to a client that did not register it', async () => {
      const { client_id: clientId } = await registerClient(url);
      expectRefused(
        await postToken(url, { grant_type: 'client_credentials', client_id: clientId }),
        400,
        'unauthorized_client',
      );
    });
  });

  describe('dynamic registration', () => {
    const base = {
      client_name: 'attacker',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    };

    it.each([
      ['non-loopback http', ['http://evil.example/cb'], 'invalid_redirect_uri'],
      ['javascript:', ['javascript:alert(1)'], 'invalid_redirect_uri'],
      ['data:', ['data:text/html,<script>alert(1)</script>'], 'invalid_redirect_uri'],
      ['a fragment', ['https://a.example/cb#x'], 'invalid_redirect_uri'],
      ['an empty fragment', ['https://a.example/cb#'], 'invalid_redirect_uri'],
      [
        'a fragment on loopback http',
        ['http://127.0.0.1:65529/callback#x'],
        'invalid_redirect_uri',
      ],
      ['a fragment on a private-use scheme', ['com.example.app:/cb#x'], 'invalid_redirect_uri'],
      ['credentials', ['https://user:pw@a.example/cb'], 'invalid_redirect_uri'],
      ['a relative URI', ['/cb'], 'invalid_redirect_uri'],
      [
        'more than 10 URIs',
        Array.from({ length: 11 }, (_, i) => `https://a.example/cb${i}`),
        'invalid_redirect_uri',
      ],
      ['no URI for the code grant', [], 'invalid_redirect_uri'],
    ])('refuses a redirect URI with %s', async (_name, redirectUris, error) => {
      const answer = await register(url, { ...base, redirect_uris: redirectUris });
      expect({ status: answer.status, error: answer.body['error'] }).toEqual({
        status: 400,
        error,
      });
      expect(answer.body).not.toHaveProperty('client_id');
    });

    it('refuses a public client_credentials client', async () => {
      const answer = await register(url, {
        client_name: 'public script',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'none',
      });
      expect({ status: answer.status, error: answer.body['error'] }).toEqual({
        status: 400,
        error: 'invalid_client_metadata',
      });
      expect(answer.body).not.toHaveProperty('client_id');
    });

    it('accepts a reverse-domain private-use scheme for a native app', async () => {
      const answer = await register(url, {
        ...base,
        application_type: 'native',
        redirect_uris: ['com.example.app:/cb'],
      });
      expect(answer.status).toBe(201);
      expect(answer.body['redirect_uris']).toEqual(['com.example.app:/cb']);
      expect(answer.body).not.toHaveProperty('client_secret');
    });

    it('refuses a JSON body that is not a registration object', async () => {
      const answer = await register(url, [] as unknown as Record<string, unknown>);
      expect({ status: answer.status, error: answer.body['error'] }).toEqual({
        status: 400,
        error: 'invalid_client_metadata',
      });
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('revokes a refresh token and its whole family', async () => {
      const { refreshToken: first, clientId } = await authorizeOpen(url);
      const rotated = await refresh(url, clientId, first!);
      expect(rotated.status).toBe(200);
      const second = rotated.body['refresh_token'] as string;

      const res = await postToken(
        url,
        { token: second, token_type_hint: 'refresh_token', client_id: clientId },
        {},
        '/oauth/revoke',
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      expect(res.headers.get('cache-control')).toBe('no-store');

      expectRefused(await refresh(url, clientId, second), 400, 'invalid_grant');
      // Still inside the grace window, but the family is revoked.
      expectRefused(await refresh(url, clientId, first!), 400, 'invalid_grant');
    });

    it('answers 200 to another client revoking a token, and the token keeps working', async () => {
      const { refreshToken, clientId } = await authorizeOpen(url);
      const { client_id: other } = await registerClient(url);
      const res = await postToken(
        url,
        { token: refreshToken!, client_id: other },
        {},
        '/oauth/revoke',
      );
      expect(res.status).toBe(200);
      expect((await refresh(url, clientId, refreshToken!)).status).toBe(200);
    });

    it('refuses revocation by an unknown client', async () => {
      const { refreshToken, clientId } = await authorizeOpen(url);
      const res = await postToken(
        url,
        { token: refreshToken!, client_id: `mcc_${'x'.repeat(22)}` },
        {},
        '/oauth/revoke',
      );
      expectRefused(res, 401, 'invalid_client');
      expect((await refresh(url, clientId, refreshToken!)).status).toBe(200);
    });
  });

  describe('token endpoint responses', () => {
    it('are never cached, whether they grant or refuse', async () => {
      const { client_id: clientId } = await registerClient(url);
      const { code, pkce } = await authorizeCode(url, clientId);
      const granted = await exchange(url, clientId, code, pkce.verifier);
      const refused = await exchange(url, clientId, code, pkce.verifier);
      const unknown = await postToken(url, { grant_type: 'password', client_id: clientId });
      const viaAlias = await postToken(url, { grant_type: 'refresh_token' }, {}, '/token');
      expect(granted.status).toBe(200);
      expectRefused(unknown, 400, 'unsupported_grant_type');
      expectRefused(viaAlias, 401, 'invalid_client');
      for (const answer of [granted, refused, unknown, viaAlias]) {
        expect(answer.headers.get('cache-control')).toBe('no-store');
      }
      expect(granted.headers.get('pragma')).toBe('no-cache');
    });

    it('never show a stack trace, SQL, or the submitted secret or code in an error', async () => {
      const registered = await registerClient(url, {
        token_endpoint_auth_method: 'client_secret_post',
      });
      const clientId = registered.client_id;
      const secret = registered.client_secret!;
      const { code, pkce } = await authorizeCode(url, clientId);
      const injected = `mac_'; DROP TABLE oauth_codes; --`;
      const longValue = 'a'.repeat(5000);

      const cases: { answer: TokenAnswer; status: number; error: string; secrets: string[] }[] = [
        {
          answer: await exchange(url, clientId, code, pkce.verifier, {
            client_secret: `${secret}-wrong`,
          }),
          status: 401,
          error: 'invalid_client',
          secrets: [secret, code],
        },
        {
          answer: await exchange(url, clientId, injected, pkce.verifier, {
            client_secret: secret,
          }),
          status: 400,
          error: 'invalid_grant',
          secrets: [secret, injected, 'DROP TABLE'],
        },
        {
          answer: await postRaw(
            url,
            '/oauth/token',
            `grant_type=authorization_code&code=${code}&code=${code}&client_id=${clientId}`,
            { 'content-type': 'application/x-www-form-urlencoded' },
          ),
          status: 400,
          error: 'invalid_request',
          secrets: [code],
        },
        {
          answer: await exchange(url, clientId, longValue, pkce.verifier, {
            client_secret: secret,
          }),
          status: 400,
          error: 'invalid_request',
          secrets: [secret, longValue],
        },
        {
          answer: await exchange(url, clientId, code, `${pkce.verifier}x`, {
            client_secret: secret,
          }),
          status: 400,
          error: 'invalid_grant',
          secrets: [secret, code, pkce.verifier],
        },
      ];
      for (const { answer, status, error, secrets } of cases) {
        expectRefused(answer, status, error);
        expect(answer.headers.get('cache-control')).toBe('no-store');
        expect(answer.text).not.toMatch(
          /at .*\.(ts|js):\d+|node_modules|SELECT|INSERT|UPDATE|oauth_codes|stack/i,
        );
        for (const value of secrets) expect(answer.text).not.toContain(value);
      }
    });

    it('answer a body they cannot read in the OAuth error shape, not cached', async () => {
      const cases: { name: string; path: string; type: string; body: string }[] = [
        {
          name: 'truncated JSON',
          path: '/oauth/token',
          type: 'application/json',
          body: '{"grant_type": ',
        },
        { name: 'a JSON string', path: '/oauth/token', type: 'application/json', body: '"x"' },
        {
          name: 'a 20 kB form',
          path: '/oauth/token',
          type: 'application/x-www-form-urlencoded',
          body: `grant_type=authorization_code&code=${'a'.repeat(20_000)}`,
        },
        { name: 'truncated JSON', path: '/oauth/revoke', type: 'application/json', body: '{' },
        {
          name: 'truncated JSON',
          path: '/register',
          type: 'application/json',
          body: '{"redirect_uris": [',
        },
      ];
      const seen = [];
      for (const { name, path, type, body } of cases) {
        const answer = await postRaw(url, path, body, { 'content-type': type });
        expect(answer.text).not.toMatch(/at .*\.(ts|js):\d+|node_modules|SyntaxError|stack/i);
        seen.push({
          case: `${name} to ${path}`,
          clientError: [400, 413].includes(answer.status),
          error: answer.body['error'],
          cacheControl: answer.headers.get('cache-control'),
        });
      }
      expect(seen).toEqual(
        cases.map(({ name, path }) => ({
          case: `${name} to ${path}`,
          clientError: true,
          error: 'invalid_request',
          cacheControl: 'no-store',
        })),
      );
    });
  });
});

describe('an authorization code past its lifetime', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_CODE_TTL_SECONDS: '1' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('is refused with invalid_grant', async () => {
    const { client_id: clientId } = await registerClient(app.url);
    const fresh = await authorizeCode(app.url, clientId);
    expect((await exchange(app.url, clientId, fresh.code, fresh.pkce.verifier)).status).toBe(200);

    const { code, pkce } = await authorizeCode(app.url, clientId);
    await sleep(1500);
    expectRefused(await exchange(app.url, clientId, code, pkce.verifier), 400, 'invalid_grant');
  });
});

describe('refresh-token reuse without a grace window', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_GRACE_SECONDS: '0' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses an already-rotated token and revokes its whole family', async () => {
    const { refreshToken: first, clientId } = await authorizeOpen(app.url);
    const rotated = await refresh(app.url, clientId, first!);
    expect(rotated.status).toBe(200);
    const second = rotated.body['refresh_token'] as string;

    expectRefused(await refresh(app.url, clientId, first!), 400, 'invalid_grant');
    expectRefused(await refresh(app.url, clientId, second), 400, 'invalid_grant');
  });
});

describe('OAuth attacks on a local-mode server', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'local' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses to register a client_credentials client dynamically', async () => {
    const answer = await register(app.url, {
      client_name: 'script',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect({ status: answer.status, error: answer.body['error'] }).toEqual({
      status: 400,
      error: 'invalid_client_metadata',
    });
    expect(answer.body).not.toHaveProperty('client_id');
    expect(answer.body).not.toHaveProperty('client_secret');
  });

  it('grants no code before the person signs in', async () => {
    const { client_id: clientId } = await registerClient(app.url);
    const answer = await authorizeRequest(app.url, clientId);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/html/);
    expect(answer.location).toBeNull();
  });

  it('refuses an administrator-made service client with a wrong secret', async () => {
    await app.admin(['tenant', 'create', 'ten_acme', 'Acme']);
    const output = await app.admin(['client', 'create', 'ten_acme', 'nightly script']);
    const clientId = /client_id=(\S+)/.exec(output)?.[1] ?? '';
    const secret = /client_secret=(\S+)/.exec(output)?.[1] ?? '';
    expect(clientId).toMatch(/^mcc_/);
    expect(secret).toMatch(/^mcs_/);

    const wrong = await postToken(
      app.url,
      { grant_type: 'client_credentials' },
      {
        ...basic(clientId, `${secret}x`),
      },
    );
    expectRefused(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);

    const right = await postToken(
      app.url,
      { grant_type: 'client_credentials' },
      {
        ...basic(clientId, secret),
      },
    );
    expect(right.status).toBe(200);
    expect(right.body).not.toHaveProperty('refresh_token');
    expect(claimsOf(right.body['access_token'] as string)['pkd']).toBe('service');
  });
});

describe('sealed sign-in forms, posted twice', () => {
  const alice = { username: 'alice@replay.test', password: 'correct horse battery staple' };
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp({ env: { AUTH_MODE: 'local' } });
    // A second replica over the same database, behind the same public URL.
    second = await startTestApp({
      database: first.database,
      env: { AUTH_MODE: 'local', PUBLIC_URL: first.url },
    });
    await first.admin(['tenant', 'create', 'ten_replay', 'Replay']);
    await first.admin(['account', 'create', 'ten_replay', alice.username], alice.password);
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('issues no second code for a consent form posted again', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const grant = await consentForm(first.url, clientId, alice);
    const allowed = await submit(`${first.url}/oauth/consent`, { grant, decision: 'allow' });
    expect(allowed.status).toBe(302);
    expect(allowed.location?.searchParams.get('code')).toMatch(/^mac_/);

    expectStaleForm(await submit(`${first.url}/oauth/consent`, { grant, decision: 'allow' }));
  });

  it('issues no code for a consent form posted again on another replica', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const grant = await consentForm(first.url, clientId, alice);
    const allowed = await submit(`${first.url}/oauth/consent`, { grant, decision: 'allow' });
    expect(allowed.location?.searchParams.get('code')).toMatch(/^mac_/);

    expectStaleForm(await submit(`${second.url}/oauth/consent`, { grant, decision: 'allow' }));
  });

  it('gives one code when the same consent form is posted on both replicas at once', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const grant = await consentForm(first.url, clientId, alice);
    const answers = await Promise.all(
      [first, second, first, second].map((app) =>
        submit(`${app.url}/oauth/consent`, { grant, decision: 'allow' }),
      ),
    );
    const codes = answers.filter((answer) => answer.location?.searchParams.get('code'));
    expect(codes).toHaveLength(1);
    for (const answer of answers.filter((a) => !codes.includes(a))) expectStaleForm(answer);
  });

  it('does not turn a denied consent form into an allowed one', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const grant = await consentForm(first.url, clientId, alice);
    const denied = await submit(`${first.url}/oauth/consent`, { grant, decision: 'deny' });
    expect(denied.location?.searchParams.get('error')).toBe('access_denied');

    expectStaleForm(await submit(`${second.url}/oauth/consent`, { grant, decision: 'allow' }));
  });

  it('issues no second code for a login form posted again once consent is remembered', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const grant = await consentForm(first.url, clientId, alice);
    await submit(`${first.url}/oauth/consent`, { grant, decision: 'allow' });

    const request = await loginForm(first.url, clientId);
    const signedIn = await submit(`${first.url}/oauth/login`, { request, ...alice });
    expect(signedIn.location?.searchParams.get('code')).toMatch(/^mac_/);

    expectStaleForm(await submit(`${second.url}/oauth/login`, { request, ...alice }));
  });

  it('keeps a login form usable after a wrong password', async () => {
    const { client_id: clientId } = await registerClient(first.url);
    const request = await loginForm(first.url, clientId);
    const wrong = await submit(`${first.url}/oauth/login`, { request, ...alice, password: 'nope' });
    expect(wrong.status).toBe(401);
    const right = await submit(`${first.url}/oauth/login`, { request, ...alice });
    expect(right.status).toBe(200);
    expect(right.html).toContain('action="/oauth/consent"');
  });
});
