import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { ImageContainers, gvisorUnavailable } from './gvisor-container.js';
import type { PodContainer } from './gvisor-container.js';
import {
  buildUnpackedImage,
  ensureImageTools,
  expectBuiltFromDockerfile,
  expectMinimalImage,
  listTree,
} from './oci-image.js';
import type { BuiltImage } from './oci-image.js';

const repo = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

// Nothing here is skipped: a machine without the tools fails, saying what is missing.
const missing = (await ensureImageTools()) ?? (await gvisorUnavailable());
if (missing) throw new Error(`test/images needs ${missing}; .ci/run installs what is missing`);

/**
 * The API image (deploy/images/api; docs/images.md), built as CI builds it
 * (scripts/images/build-api-image.sh, which builds dist/ first when it is stale), then run under
 * gVisor with a read-only root and DATA_DIR on a tmpfs, on the embedded database.
 */
describe('the API image', () => {
  let image: BuiltImage;

  beforeAll(async () => {
    image = await buildUnpackedImage(join(repo, 'scripts/images/build-api-image.sh'));
  }, 600_000);

  afterAll(() => image?.remove());

  it('is the image the Dockerfile describes, running main.js by default as a numeric non-root user', async () => {
    await expectBuiltFromDockerfile(image.config, join(repo, 'deploy/images/api/Dockerfile'));
    const { User, Entrypoint, Cmd } = image.config.config;
    expect(User).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect([...Entrypoint, ...(Cmd ?? [])]).toEqual([
      '/usr/local/bin/node',
      '--no-node-snapshot',
      'dist/apps/api/src/main.js',
    ]);
  });

  it('holds no shell and no package manager, and no development dependency', async () => {
    const tree = await listTree(image.rootfs);
    expectMinimalImage(tree, { appModules: 'app/node_modules/' });
    const paths = new Set(tree.map((entry) => entry.path));
    expect(paths).not.toContain('app/node_modules/npm');
    for (const dev of ['typescript', 'jest', '@nestjs/cli', 'eslint', 'prettier']) {
      expect(paths).not.toContain(`app/node_modules/${dev}`);
    }
    for (const needed of [
      'app/dist/apps/api/src/admin.js',
      'app/dist/apps/bot-runner/src/main.js',
    ]) {
      expect(paths).toContain(needed);
    }
  });

  describe('under gVisor with a read-only root', () => {
    let containers: ImageContainers;
    // The pod's memory-backed volumes; DATA_DIR is /data.
    const volumes: Pick<PodContainer, 'tmpfs' | 'binds'> = {
      tmpfs: [
        { path: '/tmp', sizeBytes: 64 * 1024 * 1024 },
        { path: '/data', sizeBytes: 512 * 1024 * 1024 },
      ],
      binds: [],
    };

    beforeAll(async () => {
      containers = await ImageContainers.create(image);
    });

    afterAll(() => containers?.removeAll());

    it('serves /healthz on the embedded database in DATA_DIR, and stops on TERM', async () => {
      // Loopback only here (the sandbox shares the host's network); the image's HOST is 0.0.0.0.
      const port = await freePort();
      const container = await containers.start({
        env: { HOST: '127.0.0.1', PORT: String(port) },
        ...volumes,
      });
      await eventually(
        async () => {
          const answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
          return answer?.status === 200;
        },
        `/healthz (stdout: ${container.lines().slice(-5).join(' | ')}; stderr: ${container.stderr()})`,
        90_000,
      );
      await container.signal('TERM');
      // Nest's shutdown hooks run, then raise the signal again: killed by TERM, 128 + 15.
      expect(await container.exited).toBe(143);
    }, 120_000);

    it('runs the admin command when given it as the argument', async () => {
      // It reads the server's settings: with the image's HOST=0.0.0.0, AUTH_MODE too.
      const container = await containers.start({
        args: ['dist/apps/api/src/admin.js', '--help'],
        env: { AUTH_MODE: 'open' },
        ...volumes,
      });
      const code = await container.exited;
      expect(`${container.lines().join('\n')}${container.stderr()}`).toMatch(
        /Usage: npm run admin -- <command>[\s\S]*tenant create/,
      );
      expect(code).toBe(1);
    }, 60_000);
  });
});
