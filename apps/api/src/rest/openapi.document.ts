import {
  createChannelInput,
  dmBotInput,
  joinChannelInput,
  postMessageInput,
  updateChannelInput,
} from '#channels';
import { z } from 'zod';

const jsonSchema = (schema: z.ZodType, omit: string[] = []): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as {
    $schema?: string;
    properties?: Record<string, unknown>;
    required?: string[];
  };
  for (const key of omit) delete rest.properties?.[key];
  if (rest.required) rest.required = rest.required.filter((key) => !omit.includes(key));
  return rest;
};

const problem = { $ref: '#/components/schemas/Problem' };
const errors = {
  '400': {
    description: 'Invalid input (code INVALID_REQUEST)',
    content: { 'application/problem+json': { schema: problem } },
  },
  '403': {
    description: 'Not a member or not an admin',
    content: { 'application/problem+json': { schema: problem } },
  },
  '404': {
    description: 'Channel, bot, invite or token not found',
    content: { 'application/problem+json': { schema: problem } },
  },
  '409': {
    description: 'Ambiguous member or a conflict',
    content: { 'application/problem+json': { schema: problem } },
  },
  '429': {
    description: 'Rate limited',
    content: { 'application/problem+json': { schema: problem } },
  },
};
const ok = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const body = (schema: z.ZodType, omit: string[] = []) => ({
  required: true,
  content: { 'application/json': { schema: jsonSchema(schema, omit) } },
});
const pathParam = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 64 },
});
const queryParam = (name: string, schema: Record<string, unknown>, description: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  description,
});
const memberTokenHeader = {
  name: 'X-Member-Token',
  in: 'header',
  required: false,
  schema: { type: 'string', maxLength: 64 },
  description: 'Your rejoin_token: says which seat is acting.',
};

/** The OpenAPI 3.1 document of `/api/v1`, built from the same zod schemas the endpoints parse with. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'MCP Multiplayer REST API',
      version: '0.1.0',
      description:
        'The channel operations of the MCP tools over REST. Errors are RFC 9457 problem documents whose `code` matches the MCP error codes.',
    },
    servers: [{ url: `${publicUrl}/api/v1` }],
    paths: {
      '/health': {
        get: {
          operationId: 'health',
          summary: 'Health check',
          responses: { '200': ok('Healthy') },
        },
      },
      '/channels': {
        get: {
          operationId: 'listChannels',
          summary: 'Channels you created or hold a seat in',
          responses: { '200': ok('Channels') },
        },
        post: {
          operationId: 'createChannel',
          summary: 'Create a channel',
          requestBody: body(createChannelInput),
          responses: { '201': ok('Created: channel_id, invites, view'), ...errors },
        },
      },
      '/channels/join': {
        post: {
          operationId: 'joinChannel',
          summary: 'Join with an invite or a rejoin token',
          requestBody: body(joinChannelInput),
          responses: { '200': ok('Joined: slot_id and rejoin_token'), ...errors },
        },
      },
      '/channels/{channelId}': {
        parameters: [pathParam('channelId'), memberTokenHeader],
        get: {
          operationId: 'getChannelInfo',
          summary: 'Channel view and bots',
          responses: { '200': ok('Channel'), ...errors },
        },
        patch: {
          operationId: 'updateChannel',
          summary: 'Admin operations (rename, set_admin, remove_bot)',
          requestBody: body(updateChannelInput, ['channel_id']),
          responses: { '200': ok('Updated'), ...errors },
        },
      },
      '/channels/{channelId}/messages': {
        parameters: [pathParam('channelId'), memberTokenHeader],
        get: {
          operationId: 'syncMessages',
          summary: 'Messages after a cursor (long poll)',
          parameters: [
            queryParam(
              'cursor',
              { type: 'integer', minimum: 0, maximum: 2147483647 },
              'The highest message id you have seen.',
            ),
            queryParam(
              'timeout_ms',
              { type: 'integer', minimum: 0, maximum: 60000 },
              'How long to wait for news.',
            ),
          ],
          responses: { '200': ok('messages, cursor, view'), ...errors },
        },
        post: {
          operationId: 'postMessage',
          summary: 'Post a message',
          requestBody: body(postMessageInput, ['channel_id']),
          responses: { '201': ok('msg_id and ts'), ...errors },
        },
      },
      '/channels/{channelId}/bots/{botId}/dm': {
        parameters: [pathParam('channelId'), pathParam('botId'), memberTokenHeader],
        post: {
          operationId: 'dmBot',
          summary: 'Private message to a bot',
          requestBody: body(dmBotInput, ['channel_id', 'bot_id']),
          responses: { '200': ok('Delivered'), ...errors },
        },
      },
      '/channels/{channelId}/bots/{botId}/code': {
        parameters: [pathParam('channelId'), pathParam('botId'), memberTokenHeader],
        get: {
          operationId: 'getBotCode',
          summary: 'A bot’s exact source, manifest and hashes',
          responses: { '200': ok('Bot code'), ...errors },
        },
      },
    },
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
          },
        },
      },
    },
  };
}
