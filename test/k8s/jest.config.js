/**
 * The Kubernetes tests (test/k8s): the e2e project's settings, global setup included (PostgreSQL
 * and NATS), for this directory only. Apart from `npm test`, because they need the single-node
 * cluster of scripts/k8s/cluster.sh and the runner image imported into it, and must run inside the
 * cluster's network namespace; scripts/k8s/test.sh does all of that:
 *
 *   scripts/k8s/test.sh
 */
import { fileURLToPath } from 'node:url';
import root from '../../jest.config.js';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const e2e = root.projects.find((project) => project.displayName === 'e2e');
if (!e2e) throw new Error('jest.config.js has no e2e project');
// Pods start, idle out and are killed in these tests: seconds each, on a shared 2-core machine.
const testTimeout = 180_000;

export default {
  rootDir,
  testTimeout,
  projects: [
    {
      ...e2e,
      rootDir,
      displayName: 'k8s',
      testMatch: ['<rootDir>/test/k8s/**/*.k8s-spec.ts'],
    },
  ],
};
