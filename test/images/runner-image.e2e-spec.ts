import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerExitCode, runnerEnvironmentOf } from '#bots';
import type { BotId, ChannelId, TenantId } from '#core';
import { NatsEventBus, NatsRunnerHub } from '#events';
import type { BotAddress, EffectsRequest } from '#events';
import { eventually } from '../support/eventually.js';
import { startNats } from '../support/nats-server.mjs';
import type { TestNatsServer } from '../support/nats-server.mjs';
import { imageProcess, runInGvisor, withEnv } from './gvisor-container.js';
import type { ContainerSpec, RunningContainer } from './gvisor-container.js';
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
const quiet = { error: () => undefined };

/** A bot that uses what a pod gives it: its workspace (a tmpfs) and the isolate's crypto. */
const PROBE_BOT = `export default class ImageProbe {
  constructor(ctx) { this.ctx = ctx; }
  onJoin(member) {
    this.ctx.workspace.write('seen.txt', member.slot_id);
    this.ctx.post('bot', { welcome: member.slot_id, stored: this.ctx.workspace.read('seen.txt'), sha: this.ctx.sha256('image') });
  }
}`;

const unavailable = await ensureImageTools();
if (unavailable) console.warn(`test/images: skipping the bot runner image tests: ${unavailable}`);
const noGvisor =
  process.getuid?.() !== 0
    ? 'not root (runsc run needs it)'
    : (await have('runsc'))
      ? null
      : 'runsc is not installed (apt-get install runsc)';
if (!unavailable && noGvisor) console.warn(`test/images: skipping the gVisor runs: ${noGvisor}`);

/**
 * The bot runner image (bots/runtime-image; docs/images.md), built as CI builds it
 * (scripts/images/build-runner-image.sh), read back with skopeo and unpacked with umoci, then
 * run under gVisor as a pod would run it: read-only root, the image's user, tmpfs workspace.
 */
(unavailable ? describe.skip : describe)('the bot runner image', () => {
  let work: string;
  let summary: ImageSummary;
  let config: ImageConfig;
  let bundle: string;
  let rootfs: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'runner-image-'));
    summary = await buildImage(
      join(repo, 'scripts/images/build-runner-image.sh'),
      join(work, 'bot-runner.oci.tar'),
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

  it('is the image the Dockerfile describes: same user, directory, environment, entrypoint and layers', async () => {
    const dockerfile = await dockerfileFinalStage(join(repo, 'bots/runtime-image/Dockerfile'));
    const { User, WorkingDir, Env, Entrypoint, Cmd } = config.config;
    expect({ User, WorkingDir, Env, Entrypoint, Cmd }).toEqual(dockerfile.settings);
    expect(config.history.map((entry) => entry.created_by.split(':')[0])).toEqual(
      dockerfile.layers,
    );
    expect(config.rootfs.diff_ids).toHaveLength(dockerfile.layers.length);
  });

  it('runs node --no-node-snapshot on the runner bundle as a numeric non-root user', () => {
    expect(config.config.User).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(config.config.Entrypoint).toEqual([
      '/usr/local/bin/node',
      '--no-node-snapshot',
      '/app/bot-runner.mjs',
    ]);
    // Settings only: the runner's credentials never come in the environment.
    expect(config.config.Env).toEqual(['PATH=/usr/local/bin']);
  });

  it('holds no shell, no package manager and no executable but node and the dynamic loader', async () => {
    const tree = await listTree(rootfs);
    const executables = tree
      .filter((entry) => entry.isFile && (entry.mode & 0o111) !== 0)
      .map((entry) => entry.path)
      .sort();
    expect(executables).toEqual(['lib64/ld-linux-x86-64.so.2', 'usr/local/bin/node']);
    const names = tree.map((entry) => entry.path.split('/').pop() ?? '');
    for (const tool of [
      'sh',
      'bash',
      'dash',
      'busybox',
      'apt',
      'apt-get',
      'dpkg',
      'npm',
      'npx',
      'corepack',
    ]) {
      expect(names).not.toContain(tool);
    }
    expect(tree.map((entry) => entry.path)).not.toContain('var/lib/dpkg');
    // Owned by root and writable by no one else: a read-only root even where it is mounted rw.
    const writable = tree.filter((entry) => entry.uid !== 0 || (entry.mode & 0o022) !== 0);
    expect(writable.map((entry) => `${entry.path} ${entry.mode.toString(8)}`)).toEqual([
      'tmp 1777',
    ]);
    const passwd = await readFile(join(rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toContain(`nonroot:x:${config.config.User}:`);
  });

  it('stays within its size budget: under 120 MiB uncompressed, all but 16 MiB of it the Node binary', () => {
    const [base, node, app] = summary.layers;
    expect(node?.description).toMatch(/^node:/);
    expect((base?.tarBytes ?? 0) + (app?.tarBytes ?? 0)).toBeLessThan(16 * 1024 * 1024);
    expect(summary.uncompressedBytes).toBeLessThan(120 * 1024 * 1024);
  });

  (noGvisor ? describe.skip : describe)('under gVisor with a read-only root', () => {
    let stateDir: string;
    const containers: RunningContainer[] = [];

    beforeAll(async () => {
      stateDir = await mkdtemp(join(tmpdir(), 'runner-image-runsc-'));
    });

    afterAll(async () => {
      await Promise.all(containers.map((container) => container.remove()));
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
    });

    async function start(
      env: Record<string, string>,
      mounts: Pick<ContainerSpec, 'tmpfs' | 'binds'>,
    ): Promise<RunningContainer> {
      const image = await imageProcess(bundle);
      const container = await runInGvisor(
        {
          rootfs,
          args: image.args,
          env: withEnv(image.env, env),
          cwd: image.cwd,
          uid: image.user.uid,
          gid: image.user.gid,
          ...mounts,
        },
        stateDir,
      );
      containers.push(container);
      return container;
    }

    it('refuses a bad environment with its config_error line and exit code 1', async () => {
      const container = await start(
        { RUNNER_NATS_URL: 'nats://127.0.0.1:1' },
        {
          tmpfs: [],
          binds: [],
        },
      );
      const code = await container.exited;
      expect({ code, stderr: container.stderr() }).toMatchObject({ code: RunnerExitCode.failed });
      expect(container.lines().map((line) => JSON.parse(line) as unknown)).toEqual([
        { event: 'config_error', error: expect.stringMatching(/^RUNNER_TENANT: /) },
      ]);
    }, 60_000);

    describe('against a real NATS server', () => {
      let nats: TestNatsServer;
      let hub: NatsRunnerHub;
      let bus: NatsEventBus;
      const effects: EffectsRequest[] = [];
      const address: BotAddress = {
        tenantId: 'ten_image' as TenantId,
        channelId: 'chn_image' as ChannelId,
        botId: 'bot_image' as BotId,
      };

      beforeAll(async () => {
        nats = await startNats();
        const credentials = await readFile(nats.credsFile, 'utf8');
        bus = await NatsEventBus.connect({
          servers: nats.url,
          credentials,
          name: 'image-test',
          logger: quiet,
        });
        hub = await NatsRunnerHub.connect({
          servers: nats.url,
          credentials,
          signingKeyFile: nats.signingKeyFile,
          ackWaitMs: 5_000,
          logger: quiet,
        });
        hub.serve({
          load: () =>
            Promise.resolve({
              ok: true,
              bot: {
                code: PROBE_BOT,
                params: {},
                egress: [],
                state: {},
                lastEventSeq: 0,
                slots: [],
              },
            }),
          effects: (_target, request) => {
            effects.push(request);
            return Promise.resolve({ status: 'committed', stateApplied: true });
          },
        });
        await hub.prepare(address);
      }, 60_000);

      afterAll(async () => {
        await hub?.close();
        await bus?.close();
        nats?.stop();
      });

      it('loads its bot, runs a hook in the isolate with its workspace, sends the effects, and stops on TERM', async () => {
        // The credentials as a pod gets them: a file from a Secret volume, readable by the user.
        const secrets = await mkdtemp(join(tmpdir(), 'runner-image-secret-'));
        await chmod(secrets, 0o755);
        await writeFile(join(secrets, 'credentials'), await hub.credentials(address, 120), {
          mode: 0o644,
        });
        const settings = runnerEnvironmentOf({
          natsUrl: nats.url,
          address,
          memoryMb: 32,
          hookTimeoutMs: 5_000,
          outputMaxBytes: 64 * 1024,
          idleSeconds: 300,
          egress: { timeoutMs: 1_000, maxBytes: 1024 * 1024, allowLoopback: false },
          workspace: { path: '/workspace', maxBytes: 1024 * 1024 },
          credentialsFile: '/run/secrets/runner/credentials',
        });
        const container = await start(settings, {
          tmpfs: [
            { path: '/tmp', sizeBytes: 16 * 1024 * 1024 },
            { path: '/workspace', sizeBytes: 1024 * 1024 },
          ],
          binds: [{ source: secrets, destination: '/run/secrets/runner' }],
        });
        try {
          const seen = () => container.lines().map((line) => JSON.parse(line) as { event: string });
          await eventually(
            () => seen().some((line) => line.event === 'ready'),
            `the runner's ready line (stdout: ${container.lines().join(' | ')}; stderr: ${container.stderr()})`,
            30_000,
          );
          await bus.publishEvent({
            ...address,
            seq: 1,
            type: 'join',
            botId: null,
            payload: { member: { slot_id: 's2', label: 'Player' } },
            createdAt: new Date().toISOString(),
          });
          await eventually(() => effects.length > 0, 'the effects of the join hook', 30_000);
          expect(effects[0]).toEqual({
            seq: 1,
            outcome: {
              ok: true,
              effects: {
                posts: [
                  {
                    kind: 'bot',
                    body: {
                      welcome: 's2',
                      stored: 's2',
                      sha: '6105d6cc76af400325e94d588ce511be5bfdbb73b437dc51eca43917d7a43e3d',
                    },
                    to_slot: null,
                  },
                ],
                logs: [],
              },
            },
          });
          await eventually(
            () => seen().some((line) => line.event === 'released'),
            'the released report',
            10_000,
          );
          await container.signal('TERM');
          expect(await container.exited).toBe(RunnerExitCode.stopped);
          expect(seen()).toEqual([
            { event: 'ready' },
            { event: 'holding', seq: 1 },
            { event: 'released', seq: 1 },
            { event: 'stopping', reason: 'terminated', code: RunnerExitCode.stopped },
          ]);
        } finally {
          await rm(secrets, { recursive: true, force: true });
        }
      }, 120_000);
    });
  });
});
