import { pythonJsonDumps, taggedSha256 } from '#core';
import { z } from 'zod';

/** The manifest of an inline bot that declares none (spec/compat.md "Default manifests"). */
export const DEFAULT_INLINE_MANIFEST = {
  summary: 'Custom inline bot',
  hooks: ['on_init', 'on_join', 'on_message'],
  emits: ['system'],
  params: {},
} as const;

export const MANIFEST_MAX_BYTES = 8 * 1024;

/** A bot class's `static manifest`. `name` and `version` describe the bot and are kept apart. */
export const declaredManifest = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,31}$/, 'name: 1-32 letters and digits, starting with a letter')
      .optional(),
    version: z.string().min(1).max(32).optional(),
    summary: z.string().max(200).optional(),
    hooks: z.array(z.string().max(64)).max(16).optional(),
    emits: z.array(z.string().max(64)).max(32).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    egress: z
      .array(
        z
          .string()
          .regex(
            /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i,
            'egress: hosts like api.example.com or *.example.com',
          ),
      )
      .max(32)
      .optional(),
  })
  .catchall(z.unknown());

/** `sha256:` + SHA-256 of the manifest as Python's `json.dumps(sort_keys=True)` writes it. */
export function manifestHash(manifest: Record<string, unknown>): string {
  return taggedSha256(pythonJsonDumps(manifest));
}
