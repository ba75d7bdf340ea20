/**
 * The image tests (test/images): the e2e project's settings, for this directory only. Apart from
 * `npm test`, because they build an image (about 20 s) and run it under gVisor as root; they start
 * their own NATS server, so the global setup's build, PostgreSQL and NATS are not needed.
 *
 *   scripts/with-node24.sh node scripts/jest.mjs --config test/images/jest.config.js
 */
import { fileURLToPath } from 'node:url';
import root from '../../jest.config.js';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const e2e = root.projects.find((project) => project.displayName === 'e2e');
if (!e2e) throw new Error('jest.config.js has no e2e project');
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- dropped on purpose: see above
const { globalSetup, globalTeardown, ...settings } = e2e;

export default {
  rootDir,
  testTimeout: root.testTimeout,
  projects: [
    {
      ...settings,
      rootDir,
      displayName: 'images',
      testMatch: ['<rootDir>/test/images/**/*.e2e-spec.ts'],
    },
  ],
};
