import { readFileSync } from 'node:fs';

/** The NATS server of this test run (started by the global setup) and the API's credentials. */
export interface TestNats {
  readonly servers: string;
  /** The API user's credentials file content. */
  readonly credentials: string;
  readonly credsFile: string;
  readonly signingKeyFile: string;
  /** The API's environment for this server: URL, credentials, and the runner signing key. */
  readonly env: Record<string, string>;
}

export function testNats(): TestNats {
  const servers = process.env['TEST_NATS_URL'];
  const credsFile = process.env['TEST_NATS_CREDS_FILE'];
  const signingKeyFile = process.env['TEST_NATS_SIGNING_KEY_FILE'];
  if (!servers || !credsFile || !signingKeyFile) {
    throw new Error(
      'TEST_NATS_URL, TEST_NATS_CREDS_FILE and TEST_NATS_SIGNING_KEY_FILE are not set: run through the Jest projects',
    );
  }
  return natsOf({ url: servers, credsFile, signingKeyFile });
}

/** The same for a server a test started itself. */
export function natsOf(server: {
  url: string;
  credsFile: string;
  signingKeyFile: string;
}): TestNats {
  return {
    servers: server.url,
    credentials: readFileSync(server.credsFile, 'utf8'),
    credsFile: server.credsFile,
    signingKeyFile: server.signingKeyFile,
    env: {
      NATS_URL: server.url,
      NATS_CREDS_FILE: server.credsFile,
      NATS_RUNNER_SIGNING_KEY_FILE: server.signingKeyFile,
    },
  };
}
