/**
 * node-postgres's Query class (`pg/lib/query.js`, exported by the package), as far as TenantQuery
 * extends it. The package ships no types for it.
 */
declare module 'pg/lib/query.js' {
  import type { QueryConfig, QueryResult } from 'pg';

  export default class Query {
    constructor(
      config: QueryConfig & { queryMode?: 'extended' },
      values: undefined,
      callback: (error: Error | null, result: QueryResult) => void,
    );
    prepare(connection: unknown): void;
    handleDataRow(message: unknown): void;
    handleCommandComplete(message: unknown, connection: unknown): void;
    submit(connection: unknown): Error | null;
  }
}
