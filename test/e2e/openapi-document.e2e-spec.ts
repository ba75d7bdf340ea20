import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { authorizeOpen } from '../support/oauth.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';

// ajv-formats is CommonJS: its default export arrives as the module object under ESM.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

interface Response {
  $ref?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema: object }>;
}

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  body: unknown;
}

/**
 * The published document and the server agree: what the document says an operation answers
 * (status, media type, headers, body) is what it answers, and a body valid by the document's
 * request schema is not refused for its characters. scripts/schemathesis.sh explores the same
 * at random; this pins the answers it cannot reach (401, 403, 413).
 */
describe('the OpenAPI document against the server', () => {
  let app: TestApp;
  let token: string;
  let reader: string;
  let doc: {
    paths: Record<string, Record<string, unknown>>;
    components: { responses: Record<string, Response> };
  };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);

  beforeAll(async () => {
    app = await startTestApp();
    [{ accessToken: token }, { accessToken: reader }] = await Promise.all([
      authorizeOpen(app.url),
      authorizeOpen(app.url, { scope: 'channels:read' }),
    ]);
    doc = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as typeof doc;
  });

  afterAll(async () => {
    await app?.close();
  });

  async function api(
    method: string,
    path: string,
    body?: string,
    bearer: string | null = token,
    contentType = 'application/json',
  ): Promise<Answer> {
    const res = await fetch(`${app.url}/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': contentType }),
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
      },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      headers: res.headers,
      body: text ? JSON.parse(text) : null,
    };
  }

  /** A schema of the document, compiled with its components so `#/components/…` resolves. */
  function compile(schema: object) {
    return ajv.compile({ components: doc.components, ...schema });
  }

  /** Checks an answer against the document's response for its operation and status. */
  function expectDocumented(path: string, method: string, answer: Answer): void {
    const operation = doc.paths[path]?.[method] as { responses: Record<string, Response> };
    let response = operation.responses[String(answer.status)];
    if (response?.$ref) response = doc.components.responses[response.$ref.split('/').at(-1) ?? ''];
    expect({ path, method, status: answer.status, documented: response !== undefined }).toEqual({
      path,
      method,
      status: answer.status,
      documented: true,
    });
    const mediaType = answer.type.split(';')[0] ?? '';
    const schema = response?.content?.[mediaType]?.schema;
    expect({ status: answer.status, mediaType, documented: schema !== undefined }).toEqual({
      status: answer.status,
      mediaType,
      documented: true,
    });
    const check = compile(schema ?? {});
    expect({ status: answer.status, errors: check(answer.body) ? null : check.errors }).toEqual({
      status: answer.status,
      errors: null,
    });
    for (const [name, header] of Object.entries(response?.headers ?? {})) {
      if (header.required)
        expect({ name, sent: answer.headers.has(name) }).toEqual({ name, sent: true });
    }
  }

  it('answers 401 with the documented challenge and problem', async () => {
    const answer = await api('GET', '/channels', undefined, null);
    expect(answer.status).toBe(401);
    expectDocumented('/channels', 'get', answer);
    const forged = await api('GET', '/channels', undefined, `${token}x`);
    expect(forged.status).toBe(401);
    expectDocumented('/channels', 'get', forged);
  });

  it('answers 403 for a write with a read-only token, as the operation’s security says', async () => {
    const security = (doc.paths['/channels']?.['post'] as { security: unknown }).security;
    expect(security).toEqual([{ oauth2: ['channels:write'] }, { bearer: ['channels:write'] }]);
    const answer = await api('POST', '/channels', '{"name":"x","slots":["invite:a"]}', reader);
    expect(answer.status).toBe(403);
    expectDocumented('/channels', 'post', answer);
  });

  it('answers 400, 404, 413 and 415 as documented', async () => {
    const bad = await api('POST', '/channels', '{"name": ');
    expect(bad.status).toBe(400);
    expectDocumented('/channels', 'post', bad);
    const unknown = await api('POST', '/channels/join', '{"invite_code":"inv_nope"}');
    expect(unknown.status).toBe(404);
    expectDocumented('/channels/join', 'post', unknown);
    const large = await api('POST', '/channels', JSON.stringify({ name: 'x'.repeat(2 ** 21) }));
    expect(large.status).toBe(413);
    expectDocumented('/channels', 'post', large);
    const latin1 = 'application/json; charset=latin1';
    const foreign = await api('POST', '/channels', '{"name":"x","slots":[]}', token, latin1);
    expect(foreign.status).toBe(415);
    expectDocumented('/channels', 'post', foreign);
  });

  it('refuses a name or slot for its characters exactly when the request schema does', async () => {
    const operation = doc.paths['/channels']?.['post'] as {
      requestBody: { content: { 'application/json': { schema: object } } };
    };
    const valid = compile(operation.requestBody.content['application/json'].schema);
    const names = ['tab\there', 'bell\u0007', 'C1\u0085', 'emoji 😀', 'nul\u0000'];
    const labels = [
      'invite:tab\there',
      'invite:C1\u0085',
      'bot:\u0001',
      'invite:ok:admin',
      'bot:😀',
    ];
    for (const request of [
      ...names.map((name) => ({ name, slots: ['invite:a'] })),
      ...labels.map((slot) => ({ name: 'labels', slots: [slot] })),
    ]) {
      const answer = await api('POST', '/channels', JSON.stringify(request));
      expect({ request, status: answer.status }).toEqual({
        request,
        status: valid(request) ? 201 : 400,
      });
      expectDocumented('/channels', 'post', answer);
    }
  });
});
