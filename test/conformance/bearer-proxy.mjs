// The conformance suite's client connects without authorization, while every MCP request here needs
// an access token. This proxy stands in front of the server as an authorized client would: it
// registers a client-credentials client (the server runs in the `open` mode on loopback), gets an
// access token through the real token endpoint, and forwards every request with it.
//
// Usage: node bearer-proxy.mjs <server base URL>; prints the proxy's base URL once it listens.
import http from 'node:http';

const target = new URL(process.argv[2] ?? '');

const registration = await fetch(new URL('/register', target), {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    client_name: 'conformance proxy',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  }),
});
if (registration.status !== 201) throw new Error(`registration: ${await registration.text()}`);
const { client_id: id, client_secret: secret } = await registration.json();
const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString(
  'base64',
);

let token = null;
let expiresAt = 0;
async function accessToken() {
  if (token && Date.now() < expiresAt - 30_000) return token;
  const response = await fetch(new URL('/oauth/token', target), {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      resource: `${target.origin}/mcp`,
    }),
  });
  if (response.status !== 200) throw new Error(`token: ${await response.text()}`);
  const body = await response.json();
  token = body.access_token;
  expiresAt = Date.now() + body.expires_in * 1000;
  return token;
}

const server = http.createServer(async (req, res) => {
  let bearer;
  try {
    bearer = await accessToken();
  } catch (error) {
    res.writeHead(502).end(String(error));
    return;
  }
  const upstream = http.request(
    new URL(req.url ?? '/', target),
    {
      method: req.method,
      headers: { ...req.headers, host: target.host, authorization: `Bearer ${bearer}` },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
