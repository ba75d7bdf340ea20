import {
  botCodeInput,
  botCodeResult,
  channelInfoInput,
  channelInfoResult,
  createChannelInput,
  createChannelResult,
  dmBotInput,
  dmBotResult,
  healthCheckResult,
  joinChannelInput,
  joinChannelResult,
  listChannelsResult,
  postMessageInput,
  postMessageResult,
  removeBotOp,
  renameOp,
  setAdminOp,
  syncMessagesInput,
  syncMessagesResult,
  updateChannelInput,
  updateChannelResult,
} from '#channels';
import { z } from 'zod';
import { inputJsonSchema, outputJsonSchema } from '../contracts/json-schema.js';
import type { JsonSchema } from '../contracts/json-schema.js';
import {
  problemResponses,
  problemSchema,
  requires,
  securitySchemes,
} from './openapi.components.js';
import type { ProblemStatus, Scope } from './openapi.components.js';

/** A request body: the tool's input schema less the fields the path carries. */
function body(schema: z.ZodType, omit: string[] = []) {
  const json = inputJsonSchema(schema) as JsonSchema & {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  for (const key of omit) delete json.properties?.[key];
  if (json.required) json.required = json.required.filter((key) => !omit.includes(key));
  return { required: true, content: { 'application/json': { schema: json } } };
}

/**
 * update_channel's body with each operation spelled out: the shared input takes any `type`, to
 * answer BAD_OP naming it (docs/compat.md), but a client reading this document needs the three.
 */
function updateBody() {
  const request = body(updateChannelInput, ['channel_id']);
  const ops = request.content['application/json'].schema.properties?.['ops'] as JsonSchema;
  ops['items'] = inputJsonSchema(z.union([renameOp, setAdminOp, removeBotOp]));
  return request;
}

/** A success response whose body is a result schema, with the links a client can follow next. */
function ok(description: string, schema: z.ZodType, links?: Record<string, unknown>) {
  return {
    description,
    content: { 'application/json': { schema: outputJsonSchema(schema) } },
    ...(links ? { links } : {}),
  };
}

/** An input field's schema, for a parameter: a parameter is absent rather than null. */
function field(schema: z.ZodType): JsonSchema {
  const json = inputJsonSchema(schema);
  const branches = json['anyOf'];
  if (!Array.isArray(branches)) return json;
  const [only, ...more] = (branches as JsonSchema[]).filter((branch) => branch['type'] !== 'null');
  const { anyOf: _branches, ...rest } = json;
  return more.length === 0 && only ? { ...only, ...rest } : json;
}

const parameter = (name: string, where: 'path' | 'query', schema: z.ZodType) => ({
  name,
  in: where,
  required: where === 'path',
  schema: field(schema),
});

const channelIdParam = parameter('channelId', 'path', channelInfoInput.shape.channel_id);
const botIdParam = parameter('botId', 'path', botCodeInput.shape.bot_id);
const memberTokenHeader = {
  name: 'X-Member-Token',
  in: 'header',
  required: false,
  schema: field(channelInfoInput.shape.member_token),
  description: 'Your rejoin_token: says which seat is acting (or send member_token).',
};

/** Errors of an operation: the ones every authorized call can meet, and those it adds. */
function errors(...more: ProblemStatus[]) {
  const statuses: ProblemStatus[] = ['400', '401', '403', '500', '503', ...more];
  return Object.fromEntries(
    [...new Set(statuses)]
      .sort()
      .map((status) => [status, { $ref: `#/components/responses/${status}` }]),
  );
}

/** One operation: who may call it, and every answer it gives. */
function operation(
  operationId: string,
  summary: string,
  scope: Scope | null,
  responses: Record<string, unknown>,
  rest: Record<string, unknown> = {},
) {
  return { operationId, summary, security: scope ? requires(scope) : [], ...rest, responses };
}

/** Where a member goes from a seat: the channel, its messages, a post (OpenAPI Link Objects). */
const seatLinks = (channel: string, token: string) => {
  const parameters = { 'path.channelId': channel, 'header.X-Member-Token': token };
  return {
    getChannelInfo: { operationId: 'getChannelInfo', parameters },
    syncMessages: { operationId: 'syncMessages', parameters },
    postMessage: { operationId: 'postMessage', parameters },
  };
};

/**
 * The OpenAPI 3.1 document of `/api/v1`, built from the zod schemas the endpoints parse with and
 * the result schemas they answer with. Each operation names the scope ChannelsController's
 * `@RequireScopes` asks for and every status the edge can answer.
 */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const read: Scope = 'channels:read';
  const write: Scope = 'channels:write';
  return {
    openapi: '3.1.0',
    info: {
      title: 'MCP Multiplayer REST API',
      version: '0.1.0',
      description:
        'The channel operations of the MCP tools over REST. Errors are RFC 9457 problem documents whose `code` matches the MCP error codes.',
    },
    servers: [{ url: `${publicUrl}/api/v1` }],
    security: [{ oauth2: [] }, { bearer: [] }],
    paths: {
      '/health': {
        get: operation('health', 'Health check', null, {
          '200': ok('Healthy', healthCheckResult),
        }),
      },
      '/openapi.json': {
        get: operation('openApi', 'This document', null, {
          '200': {
            description: 'The OpenAPI 3.1 document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        }),
      },
      '/channels': {
        get: operation('listChannels', 'Channels you created or hold a seat in', read, {
          '200': ok('Channels', listChannelsResult),
          ...errors(),
        }),
        post: operation(
          'createChannel',
          'Create a channel',
          write,
          {
            '201': ok('Created: channel_id, invites, view', createChannelResult, {
              joinChannel: {
                operationId: 'joinChannel',
                description: 'Take the first invite slot.',
                requestBody: { invite_code: '$response.body#/invites/0' },
              },
              getChannelInfo: {
                operationId: 'getChannelInfo',
                parameters: { 'path.channelId': '$response.body#/channel_id' },
              },
              updateChannel: {
                operationId: 'updateChannel',
                parameters: { 'path.channelId': '$response.body#/channel_id' },
              },
            }),
            ...errors('409', '413', '415'),
          },
          { requestBody: body(createChannelInput) },
        ),
      },
      '/channels/join': {
        post: operation(
          'joinChannel',
          'Join with an invite or a rejoin token',
          write,
          {
            '200': ok(
              'Joined: slot_id and rejoin_token',
              joinChannelResult,
              seatLinks('$response.body#/channel_id', '$response.body#/rejoin_token'),
            ),
            ...errors('404', '413', '415'),
          },
          { requestBody: body(joinChannelInput) },
        ),
      },
      '/channels/{channelId}': {
        parameters: [channelIdParam, memberTokenHeader],
        get: operation('getChannelInfo', 'Channel view and bots', read, {
          '200': ok('Channel', channelInfoResult),
          ...errors('404'),
        }),
        patch: operation(
          'updateChannel',
          'Admin operations (rename, set_admin, remove_bot)',
          write,
          { '200': ok('Updated', updateChannelResult), ...errors('404', '409', '413', '415') },
          { requestBody: updateBody() },
        ),
      },
      '/channels/{channelId}/messages': {
        parameters: [channelIdParam, memberTokenHeader],
        get: operation(
          'syncMessages',
          'Messages after a cursor (long poll)',
          read,
          {
            '200': ok('messages, cursor, view', syncMessagesResult, {
              next: {
                operationId: 'syncMessages',
                description: 'The next page: the cursor this one returned.',
                parameters: {
                  'path.channelId': '$request.path.channelId',
                  'query.cursor': '$response.body#/cursor',
                },
              },
            }),
            ...errors('404', '409'),
          },
          {
            parameters: [
              parameter('cursor', 'query', syncMessagesInput.shape.cursor),
              parameter('timeout_ms', 'query', syncMessagesInput.shape.timeout_ms),
            ],
          },
        ),
        post: operation(
          'postMessage',
          'Post a message',
          write,
          {
            '201': ok('msg_id and ts', postMessageResult),
            ...errors('404', '409', '413', '415', '429'),
          },
          { requestBody: body(postMessageInput, ['channel_id']) },
        ),
      },
      '/channels/{channelId}/bots/{botId}/dm': {
        parameters: [channelIdParam, botIdParam, memberTokenHeader],
        post: operation(
          'dmBot',
          'Private message to a bot',
          write,
          { '200': ok('Delivered', dmBotResult), ...errors('404', '409', '413', '415', '429') },
          { requestBody: body(dmBotInput, ['channel_id', 'bot_id']) },
        ),
      },
      '/channels/{channelId}/bots/{botId}/code': {
        parameters: [channelIdParam, botIdParam, memberTokenHeader],
        get: operation('getBotCode', 'A bot’s exact source, manifest and hashes', read, {
          '200': ok('Bot code', botCodeResult),
          ...errors('404'),
        }),
      },
    },
    components: {
      securitySchemes: securitySchemes(publicUrl),
      schemas: { Problem: problemSchema },
      responses: problemResponses,
    },
  };
}
