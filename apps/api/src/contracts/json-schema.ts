import { z } from 'zod';

/** A JSON Schema (2020-12) object, as tools/list and the OpenAPI document carry it. */
export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of what a client sends (a tool's arguments, a request body): defaults make
 * fields optional. Types JSON cannot state (a refinement) are left open rather than refused.
 */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return jsonSchema(schema, 'input');
}

/** The JSON Schema of what the server answers (a tool's structured result, a response body). */
export function outputJsonSchema(schema: z.ZodType): JsonSchema {
  return jsonSchema(schema, 'output');
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    // `format: date-time` says it; zod's long equivalent pattern would repeat it in every view.
    override: ({ jsonSchema: node }) => {
      if (node.format === 'date-time') delete node.pattern;
    },
  });
  return rest;
}
