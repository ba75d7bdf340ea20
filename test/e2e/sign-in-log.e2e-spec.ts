import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiProcess, stopApiProcess } from '../support/api-process.js';
import type { ApiProcess } from '../support/api-process.js';
import { hiddenInput } from '../support/browser-steps.mjs';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { authorizeUrl, pkcePair, registerClient } from '../support/oauth.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

const PASSWORD = 'hunter2-but-longer';

/** Posts the login form of a fresh authorization request, from `forwardedFor` if given. */
async function failSignIn(api: ApiProcess, username: string, forwardedFor?: string) {
  const { client_id: clientId } = await registerClient(api.url);
  const login = await fetch(authorizeUrl(api.url, clientId, pkcePair()));
  expect(login.status).toBe(200);
  const response = await fetch(`${api.url}/oauth/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: new URLSearchParams({
      request: hiddenInput(await login.text(), 'request'),
      username,
      password: PASSWORD,
    }),
    redirect: 'manual',
  });
  expect(response.status).toBe(401);
  return clientId;
}

/** The server's output lines, colours removed. */
function plainOutput(api: ApiProcess): string[] {
  // eslint-disable-next-line no-control-regex -- the ANSI colour codes of Nest's console logger
  return api.output.map((line) => line.replace(/\x1b\[[0-9;]*m/g, ''));
}

/** Those of them that mention a failed sign-in. */
function failedSignIns(api: ApiProcess): string[] {
  return plainOutput(api).filter((line) => line.includes('failed sign-in'));
}

async function logged(api: ApiProcess, text: string): Promise<string> {
  let line: string | undefined;
  await eventually(
    () => Boolean((line = failedSignIns(api).find((l) => l.includes(text)))),
    `a failed sign-in logged with ${text}`,
  );
  return line!;
}

/**
 * Failed sign-ins on the login page are logged for whoever watches for password guessing: at
 * warn level, with the client address (the forwarded one only behind TRUST_PROXY) and the
 * account name tried, never the password. The server runs as its own process, as deployed.
 */
describe('a failed sign-in, in the server log', () => {
  const apis: ApiProcess[] = [];
  const databases: TestDatabase[] = [];

  async function start(env: Record<string, string>): Promise<ApiProcess> {
    const database = await createTestDatabase('postgres');
    databases.push(database);
    const port = await freePort();
    const api = await startApiProcess(port, `http://127.0.0.1:${port}`, database, {
      AUTH_MODE: 'local',
      LOG_LEVEL: 'warn',
      ...env,
    });
    apis.push(api);
    return api;
  }

  let direct: ApiProcess;
  let proxied: ApiProcess;

  beforeAll(async () => {
    [direct, proxied] = await Promise.all([start({}), start({ TRUST_PROXY: '1' })]);
  });

  afterAll(async () => {
    await Promise.all(apis.map((api) => stopApiProcess(api)));
    await Promise.all(databases.map((database) => database.drop()));
  });

  it('names the account tried and the client address, at warn level, without the password', async () => {
    // Without TRUST_PROXY a forged X-Forwarded-For is not believed.
    const clientId = await failSignIn(direct, 'mallory@example.test', '203.0.113.7');
    const line = await logged(direct, 'mallory@example.test');
    expect(line).toMatch(/\bWARN\b/);
    expect(line).toContain(
      `failed sign-in as "mallory@example.test" from 127.0.0.1 (client ${clientId})`,
    );
    expect(line).not.toContain('203.0.113.7');
    expect(direct.output.join('\n')).not.toContain(PASSWORD);
  });

  it('names the forwarded address behind TRUST_PROXY', async () => {
    await failSignIn(proxied, 'trudy@example.test', '203.0.113.7');
    expect(await logged(proxied, 'trudy@example.test')).toContain(
      'failed sign-in as "trudy@example.test" from 203.0.113.7',
    );
  });

  it('keeps a name with line breaks on one line, so it cannot forge log lines', async () => {
    await failSignIn(direct, 'eve\nWARN [OAuth] sign-in as admin succeeded');
    const line = await logged(direct, 'eve');
    expect(line).toContain('failed sign-in as "eve\\nWARN [OAuth] sign-in as admin succeeded"');
    expect(plainOutput(direct).filter((l) => l.includes('as admin succeeded'))).toEqual([line]);
  });
});
