import { SCOPES } from '#auth';

/**
 * The reusable parts of the OpenAPI document: how to get a token, and the problem documents
 * (RFC 9457) that ProblemFilter answers with, one per status it produces.
 */

export type Scope = (typeof SCOPES)[number];

const SCOPE_TEXT: Record<Scope, string> = {
  'channels:read': 'Read channels, messages and bot code.',
  'channels:write': 'Create, join and change channels; post messages.',
};

/**
 * OAuth 2.1 with this server as the authorization server (RFC 8414 metadata at
 * `/.well-known/oauth-authorization-server`), and the same access token as a plain bearer token.
 */
export function securitySchemes(publicUrl: string): Record<string, unknown> {
  const tokenUrl = `${publicUrl}/oauth/token`;
  const scopes = Object.fromEntries(SCOPES.map((scope) => [scope, SCOPE_TEXT[scope]]));
  return {
    oauth2: {
      type: 'oauth2',
      description:
        'Authorization code with PKCE for people and agents; client credentials for clients an administrator registered (in AUTH_MODE=open, any confidential client). The scope `mcp` stands for both scopes.',
      flows: {
        authorizationCode: {
          authorizationUrl: `${publicUrl}/oauth/authorize`,
          tokenUrl,
          refreshUrl: tokenUrl,
          scopes,
        },
        clientCredentials: { tokenUrl, scopes },
      },
    },
    bearer: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token from this server (RFC 6750, RFC 9068).',
    },
  };
}

/** The security requirement of an operation: one scope, through either scheme. */
export function requires(scope: Scope): Record<string, string[]>[] {
  return [{ oauth2: [scope] }, { bearer: [scope] }];
}

export const problemSchema = {
  type: 'object',
  description: 'An RFC 9457 problem document; `code` is the MCP error code (docs/compat.md).',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string', const: 'about:blank' },
    title: { type: 'string', description: 'The code without what follows its colon.' },
    status: { type: 'integer' },
    code: {
      type: 'string',
      description: 'INVALID_REQUEST, CHANNEL_NOT_FOUND, "BAD_OP: <type>", …',
    },
    detail: { type: 'string', description: 'What to do next, in a sentence.' },
  },
  additionalProperties: false,
};

const challenge = (required: boolean) => ({
  description:
    'A Bearer challenge (RFC 6750 §3) naming the protected-resource metadata (RFC 9728 §5.1) and the scope to ask for.',
  required,
  schema: { type: 'string', pattern: '^Bearer ' },
});

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** Error responses by status, as ProblemFilter and the bearer guard produce them. */
export const problemResponses = {
  '400': problem(
    'The input breaks a documented rule, or the body is not JSON (INVALID_REQUEST, "BAD_OP: <type>").',
  ),
  '401': problem('No access token, or one that is invalid or expired (UNAUTHORIZED).', {
    'WWW-Authenticate': challenge(true),
  }),
  '403': problem(
    'The token lacks the scope (INSUFFICIENT_SCOPE, with a challenge), or the caller is not a member (NOT_MEMBER) or not an admin (NOT_ADMIN).',
    { 'WWW-Authenticate': challenge(false) },
  ),
  '404': problem(
    'No such channel, bot, slot, invite or rejoin token (CHANNEL_NOT_FOUND, BOT_NOT_FOUND, SLOT_NOT_FOUND, INVITE_INVALID, REJOIN_TOKEN_INVALID).',
  ),
  '409': problem(
    'The caller holds several seats and named none (AMBIGUOUS_MEMBER), or the tenant has the most channels allowed (INVALID_REQUEST).',
  ),
  '413': problem('The body is larger than 1 MiB (INVALID_REQUEST).'),
  '415': problem(
    'The body is in a charset or content coding the server does not read; send UTF-8 JSON (INVALID_REQUEST).',
  ),
  '429': problem(
    'Too many messages from this member; the detail says how long to wait (RATE_LIMITED).',
  ),
  '500': problem('The server failed; nothing was changed (INTERNAL_ERROR).'),
  '503': problem('The database is unavailable right now; nothing was changed (UNAVAILABLE).', {
    'Retry-After': {
      description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
      required: true,
      schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
    },
  }),
} as const;

export type ProblemStatus = keyof typeof problemResponses;
