// Prepares a run of schemathesis against a server in AUTH_MODE=open: registers a client-credentials
// client (as test/conformance/bearer-proxy.mjs does), takes an access token with both scopes, and
// creates a channel with GuessBot whose first invite that client redeems, so the operations on a
// channel, its messages and its bot have real ids to work on.
//
// Usage: node seed.mjs <server base URL>; prints shell assignments (KEY='value') on stdout.
const base = new URL(process.argv[2] ?? '');

async function call(path, init, expected) {
  const response = await fetch(new URL(path, base), init);
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${init.method} ${path}: ${response.status} ${text.slice(0, 500)}`);
  }
  return JSON.parse(text);
}

const json = (body, token) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  },
  body: JSON.stringify(body),
});

const client = await call(
  '/register',
  json({
    client_name: 'schemathesis',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
  }),
  201,
);
const basic = Buffer.from(
  `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
).toString('base64');
const { access_token: token } = await call(
  '/oauth/token',
  {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'channels:read channels:write',
    }),
  },
  200,
);

const created = await call(
  '/api/v1/channels',
  json(
    {
      name: 'schemathesis',
      slots: ['bot:referee', 'invite:player', 'invite:other'],
      bot_preset: 'GuessBot',
    },
    token,
  ),
  201,
);
const joined = await call(
  '/api/v1/channels/join',
  json({ invite_code: created.invites[0] }, token),
  200,
);

const values = {
  SCHEMATHESIS_TOKEN: token,
  SCHEMATHESIS_CHANNEL_ID: created.channel_id,
  SCHEMATHESIS_BOT_ID: joined.bots[0]?.bot_id ?? '',
  SCHEMATHESIS_MEMBER_TOKEN: joined.rejoin_token,
};
for (const [key, value] of Object.entries(values)) {
  if (!/^[A-Za-z0-9._~+/=-]*$/.test(value)) throw new Error(`${key} has unexpected characters`);
  console.log(`${key}='${value}'`);
}
