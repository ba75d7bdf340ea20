/** Types of postgres-server.mjs (plain JavaScript, so Jest's global setup can load it untransformed). */
export interface RunningPostgres {
  readonly url: string;
  readonly dataDir: string;
  stop(): void;
}
export function startPostgres(): Promise<RunningPostgres>;
export function freePort(): Promise<number>;
