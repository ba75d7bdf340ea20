import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { methodPolicy } from './method-policy.js';

/** A request with any method (fetch refuses TRACE); the status, Allow header and body. */
function send(
  base: string,
  method: string,
  path: string,
): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, allow: res.headers['allow'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the method policy, in front of an Express router', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(methodPolicy(app));
    app.get('/things', (_req, res) => void res.send('list'));
    app.post('/things', (_req, res) => void res.status(201).send('made'));
    app.get('/things/:id', (_req, res) => void res.send('one'));
    app.patch('/things/:id', (_req, res) => void res.send('changed'));
    app.post('/mcp', (_req, res) => void res.send('rpc'));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets a method through to the route that has it, HEAD with GET', async () => {
    expect((await send(base, 'GET', '/things')).body).toBe('list');
    expect((await send(base, 'POST', '/things')).status).toBe(201);
    expect((await send(base, 'HEAD', '/things/7')).status).toBe(200);
    expect((await send(base, 'PATCH', '/THINGS/7/')).body).toBe('changed');
  });

  it('refuses a method the path has no route for with 405 and the methods it has', async () => {
    for (let twice = 0; twice < 2; twice++) {
      expect(await send(base, 'PUT', '/things')).toMatchObject({
        status: 405,
        allow: 'GET, HEAD, POST',
      });
      const deleted = await send(base, 'DELETE', '/things/7?x=1');
      expect(deleted).toMatchObject({ status: 405, allow: 'GET, HEAD, PATCH' });
      expect(JSON.parse(deleted.body)).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    }
  });

  it('refuses methods no route serves on every path, and leaves a missing path a 404', async () => {
    expect(await send(base, 'TRACE', '/things')).toMatchObject({
      status: 405,
      allow: 'GET, HEAD, POST',
    });
    expect(await send(base, 'PROPFIND', '/nowhere')).toMatchObject({ status: 405, allow: '' });
    expect(await send(base, 'OPTIONS', '/things/7')).toMatchObject({ status: 405 });
    expect((await send(base, 'PATCH', '/nowhere')).status).toBe(404);
    expect((await send(base, 'GET', '/nowhere')).status).toBe(404);
  });

  it('answers at /mcp in JSON-RPC', async () => {
    const refused = await send(base, 'TRACE', '/mcp');
    expect([refused.status, refused.allow]).toEqual([405, 'POST']);
    expect(JSON.parse(refused.body)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed.' },
      id: null,
    });
  });
});
