import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import { playGuessBot, readAll } from './game-helpers.js';
import type { Created, Joined } from './game-helpers.js';

/**
 * The Python original's own scripts, step by step (issue 12, item 1; docs/compat.md "OAuth
 * endpoints the original's clients call"): they register with a name and redirect URIs only, take
 * a token with the client-credentials grant, HTTP Basic and `scope=mcp`, and speak MCP at the
 * root as well as at /mcp. In AUTH_MODE=open that works unchanged.
 */
describe("the original's scripts in AUTH_MODE=open", () => {
  let app: TestApp;
  const agents: Agent[] = [];

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await app?.close();
  });

  /** What the original's scripts do before their first MCP call; returns the access token. */
  async function signInAsOriginalScript(name: string): Promise<string> {
    const registered = await fetch(`${app.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: name,
        redirect_uris: ['http://localhost:8765/callback'],
      }),
    });
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as { client_id: string; client_secret: string };
    expect(client.client_secret).toEqual(expect.any(String));
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const token = await fetch(`${app.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp' }),
    });
    const answer = (await token.json()) as { access_token?: string; scope?: string };
    expect({ status: token.status, scope: answer.scope }).toEqual({
      status: 200,
      scope: 'channels:read channels:write',
    });
    return answer.access_token ?? '';
  }

  it('register, take a token with scope=mcp, and play GuessBot to the end at / and /mcp', async () => {
    const [hostToken, aliceToken, bobToken] = await Promise.all(
      ['host', 'alice', 'bob'].map((name) => signInAsOriginalScript(`original ${name}`)),
    );
    const host = await connectAgent(app.url, 'original-host', hostToken, '/');
    const alice = await connectAgent(app.url, 'original-alice', aliceToken, '/');
    const bob = await connectAgent(app.url, 'original-bob', bobToken, '/mcp');
    agents.push(host, alice, bob);

    const created = await host.call<Created>('create_channel', {
      name: 'original',
      slots: ['bot:referee', 'invite:alice', 'invite:bob'],
      bot_preset: 'GuessBot',
    });
    expect(created.bot_errors).toBeUndefined();
    const joinedA = await alice.call<Joined>('join_channel', { invite_code: created.invites[0] });
    const joinedB = await bob.call<Joined>('join_channel', { invite_code: created.invites[1] });
    expect([joinedA.slot_id, joinedB.slot_id]).toEqual(['s1', 's2']);

    const { end } = await playGuessBot([alice, bob], created.channel_id);
    expect(end?.body).toMatchObject({ reason: 'correct', players: ['s1', 's2'] });
    const log = await readAll(alice, created.channel_id);
    expect(log.find((m) => m.body['type'] === 'bot:reveal')?.body['verified']).toBe(true);
  });

  it('keeps the rule narrow: a public client, or one that named its grants, gets no client credentials', async () => {
    for (const body of [
      {
        client_name: 'public',
        redirect_uris: ['http://localhost:8765/cb'],
        token_endpoint_auth_method: 'none',
      },
      {
        client_name: 'named',
        redirect_uris: ['http://localhost:8765/cb'],
        grant_types: ['authorization_code'],
      },
    ]) {
      const registered = await fetch(`${app.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const client = (await registered.json()) as {
        client_id: string;
        client_secret?: string;
        grant_types: string[];
      };
      expect(client.grant_types).not.toContain('client_credentials');
      const token = await fetch(`${app.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.client_id,
          ...(client.client_secret ? { client_secret: client.client_secret } : {}),
          scope: 'mcp',
        }),
      });
      expect(((await token.json()) as { error?: string }).error).toBe('unauthorized_client');
    }
  });
});
