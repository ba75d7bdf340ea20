/**
 * A jsonb object column. TypeORM's insert types recurse into `unknown` values and reject them, so
 * entity fields use this open shape; the domain types stay `Record<string, unknown>`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;

/** A domain JSON object as a jsonb column value. */
export function jsonb(value: object): JsonObject {
  return value;
}
