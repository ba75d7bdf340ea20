import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { imageProcess, runInGvisor, withEnv } from './gvisor-container.js';
import type { RunningContainer } from './gvisor-container.js';
import {
  buildImage,
  dockerfileFinalStage,
  ensureImageTools,
  have,
  inspectConfig,
  listTree,
  unpack,
} from './oci-image.js';
import type { ImageConfig, ImageSummary } from './oci-image.js';

const repo = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

const unavailable = await ensureImageTools();
if (unavailable) console.warn(`test/images: skipping the API image tests: ${unavailable}`);
const noGvisor =
  process.getuid?.() !== 0
    ? 'not root (runsc run needs it)'
    : (await have('runsc'))
      ? null
      : 'runsc is not installed (apt-get install runsc)';

/**
 * The API image (deploy/images/api; docs/images.md), built as CI builds it
 * (scripts/images/build-api-image.sh, which builds dist/ first when it is stale), then run under
 * gVisor with a read-only root and DATA_DIR on a tmpfs, on the embedded database.
 */
(unavailable ? describe.skip : describe)('the API image', () => {
  let work: string;
  let summary: ImageSummary;
  let config: ImageConfig;
  let bundle: string;
  let rootfs: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'api-image-'));
    summary = await buildImage(
      join(repo, 'scripts/images/build-api-image.sh'),
      join(work, 'api.oci.tar'),
    );
    config = await inspectConfig(summary.archive);
    bundle = await unpack(
      summary.archive,
      summary.name.split(':').pop() ?? '',
      join(work, 'unpacked'),
    );
    rootfs = join(bundle, 'rootfs');
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is the image the Dockerfile describes, running main.js by default as a numeric non-root user', async () => {
    const dockerfile = await dockerfileFinalStage(join(repo, 'deploy/images/api/Dockerfile'));
    const { User, WorkingDir, Env, Entrypoint, Cmd } = config.config;
    expect({ User, WorkingDir, Env, Entrypoint, Cmd }).toEqual(dockerfile.settings);
    expect(config.history.map((entry) => entry.created_by.split(':')[0])).toEqual(
      dockerfile.layers,
    );
    expect(User).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect([...Entrypoint, ...(Cmd ?? [])]).toEqual([
      '/usr/local/bin/node',
      '--no-node-snapshot',
      'dist/apps/api/src/main.js',
    ]);
  });

  it('holds no shell and no package manager, and no development dependency', async () => {
    const tree = await listTree(rootfs);
    const executables = tree
      .filter((entry) => entry.isFile && (entry.mode & 0o111) !== 0)
      .map((entry) => entry.path);
    expect(executables.filter((path) => !path.startsWith('app/node_modules/')).sort()).toEqual([
      'lib64/ld-linux-x86-64.so.2',
      'usr/local/bin/node',
    ]);
    const paths = new Set(tree.map((entry) => entry.path));
    for (const absent of ['bin/sh', 'usr/bin', 'var/lib/dpkg', 'app/node_modules/npm']) {
      expect(paths).not.toContain(absent);
    }
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

  (noGvisor ? describe.skip : describe)('under gVisor with a read-only root', () => {
    let stateDir: string;
    const containers: RunningContainer[] = [];

    beforeAll(async () => {
      stateDir = await mkdtemp(join(tmpdir(), 'api-image-runsc-'));
    });

    afterAll(async () => {
      await Promise.all(containers.map((container) => container.remove()));
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
    });

    async function start(args: string[] | null, env: Record<string, string>) {
      const image = await imageProcess(bundle);
      const container = await runInGvisor(
        {
          rootfs,
          args: args ? [...image.args.slice(0, 2), ...args] : image.args,
          env: withEnv(image.env, env),
          cwd: image.cwd,
          uid: image.user.uid,
          gid: image.user.gid,
          tmpfs: [
            { path: '/tmp', sizeBytes: 64 * 1024 * 1024 },
            { path: '/data', sizeBytes: 512 * 1024 * 1024 },
          ],
          binds: [],
        },
        stateDir,
      );
      containers.push(container);
      return container;
    }

    it('serves /healthz on the embedded database in DATA_DIR, and stops on TERM', async () => {
      // Loopback only here (the sandbox shares the host's network); the image's HOST is 0.0.0.0.
      const port = await freePort();
      const container = await start(null, { HOST: '127.0.0.1', PORT: String(port) });
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
      const container = await start(['dist/apps/api/src/admin.js', '--help'], {
        AUTH_MODE: 'open',
      });
      const code = await container.exited;
      expect(`${container.lines().join('\n')}${container.stderr()}`).toMatch(
        /Usage: npm run admin -- <command>[\s\S]*tenant create/,
      );
      expect(code).toBe(1);
    }, 60_000);
  });
});
