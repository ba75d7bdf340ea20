import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { RequireScopes } from '../auth/bearer-auth.guard.js';
import { ChannelsController } from './channels.controller.js';
import { openApiDocument } from './openapi.document.js';

interface Operation {
  operationId: string;
  security: Record<string, string[]>[];
  responses: Record<string, { headers?: Record<string, { required: boolean }> }>;
}

const doc = openApiDocument('https://mp.example.com') as {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, Record<string, unknown>> };
};

/** Every route of ChannelsController, as Nest's decorators recorded it. */
function routes() {
  const reflector = new Reflector();
  const prototype = ChannelsController.prototype as unknown as Record<string, object>;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => {
      const handler = prototype[name] as object;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number] ?? '';
      const path = String(Reflect.getMetadata(PATH_METADATA, handler)).replace(/:(\w+)/g, '{$1}');
      const status = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
      return {
        method: method.toLowerCase(),
        path: `/${path}`,
        status: String(status ?? (method === 'POST' ? 201 : 200)),
        scopes: reflector.get(RequireScopes, handler as () => unknown),
      };
    });
}

describe('the OpenAPI document', () => {
  it('lists every route of the controller with the scopes and success status it has', () => {
    const found = routes();
    expect(found).toHaveLength(9);
    for (const route of found) {
      const operation = doc.paths[route.path]?.[route.method];
      expect({ ...route, documented: operation !== undefined }).toEqual({
        ...route,
        documented: true,
      });
      if (!operation) continue;
      expect(operation.security).toEqual([{ oauth2: route.scopes }, { bearer: route.scopes }]);
      expect(Object.keys(operation.responses)).toEqual(
        expect.arrayContaining([route.status, '400', '401', '403', '503']),
      );
    }
  });

  it('documents the bearer challenge on 401 and Retry-After on 503', () => {
    const operation = doc.paths['/channels']?.['get'];
    expect(operation?.responses['401']).toEqual({ $ref: '#/components/responses/401' });
    const responses = (doc as unknown as { components: { responses: Operation['responses'] } })
      .components.responses;
    expect(responses['401']?.headers?.['WWW-Authenticate']?.required).toBe(true);
    expect(responses['503']?.headers?.['Retry-After']?.required).toBe(true);
  });

  it('leaves health and the document itself public', () => {
    expect(doc.paths['/health']?.['get']?.security).toEqual([]);
    expect(doc.paths['/openapi.json']?.['get']?.security).toEqual([]);
  });

  it('names this server’s OAuth endpoints', () => {
    expect(doc.components.securitySchemes['oauth2']).toMatchObject({
      flows: {
        authorizationCode: {
          authorizationUrl: 'https://mp.example.com/oauth/authorize',
          tokenUrl: 'https://mp.example.com/oauth/token',
        },
        clientCredentials: { tokenUrl: 'https://mp.example.com/oauth/token' },
      },
    });
    expect(doc.components.securitySchemes['bearer']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });
});
