/** Types of nats-server.mjs (plain JavaScript, so Jest's global setup can load it untransformed). */
export interface TestNatsServer {
  readonly url: string;
  /** The API user's credentials file (all permissions of the application account). */
  readonly credsFile: string;
  /** The application account's seed, which signs runner credentials. */
  readonly signingKeyFile: string;
  /** Kills the server at once; the store stays for `start`. */
  kill(): void;
  start(): Promise<void>;
  stop(): void;
}
export function startNats(): Promise<TestNatsServer>;
