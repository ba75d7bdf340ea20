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
import { ImageContainers, gvisorUnavailable } from './gvisor-container.js';
import {
  buildUnpackedImage,
  ensureImageTools,
  expectBuiltFromDockerfile,
  expectMinimalImage,
  listTree,
} from './oci-image.js';
import type { BuiltImage } from './oci-image.js';

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

// Nothing here is skipped: a machine without the tools fails, saying what is missing.
const missing = (await ensureImageTools()) ?? (await gvisorUnavailable());
if (missing) throw new Error(`test/images needs ${missing}; .ci/run installs what is missing`);

/**
 * The bot runner image (bots/runtime-image; docs/images.md), built as CI builds it
 * (scripts/images/build-runner-image.sh), read back with skopeo and unpacked with umoci, then
 * run under gVisor as a pod would run it: read-only root, the image's user, tmpfs workspace.
 */
describe('the bot runner image', () => {
  let image: BuiltImage;

  beforeAll(async () => {
    image = await buildUnpackedImage(join(repo, 'scripts/images/build-runner-image.sh'));
  }, 600_000);

  afterAll(() => image?.remove());

  it('is the image the Dockerfile describes: same user, directory, environment, entrypoint and layers', async () => {
    await expectBuiltFromDockerfile(image.config, join(repo, 'bots/runtime-image/Dockerfile'));
  });

  it('runs node --no-node-snapshot on the runner bundle as a numeric non-root user', () => {
    const { config } = image.config;
    expect(config.User).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(config.Entrypoint).toEqual([
      '/usr/local/bin/node',
      '--no-node-snapshot',
      '/app/bot-runner.mjs',
    ]);
    // Settings only: the runner's credentials never come in the environment.
    expect(config.Env).toEqual(['PATH=/usr/local/bin']);
  });

  it('holds no shell, no package manager and no executable but node and the dynamic loader', async () => {
    const tree = await listTree(image.rootfs);
    expectMinimalImage(tree);
    // Owned by root and writable by no one else: a read-only root even where it is mounted rw.
    const writable = tree.filter((entry) => entry.uid !== 0 || (entry.mode & 0o022) !== 0);
    expect(writable.map((entry) => `${entry.path} ${entry.mode.toString(8)}`)).toEqual([
      'tmp 1777',
    ]);
    const passwd = await readFile(join(image.rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toContain(`nonroot:x:${image.config.config.User}:`);
  });

  it('stays within its size budget: under 120 MiB uncompressed, all but 16 MiB of it the Node binary', () => {
    const { summary } = image;
    const [base, node, app] = summary.layers;
    expect(node?.description).toMatch(/^node:/);
    expect((base?.tarBytes ?? 0) + (app?.tarBytes ?? 0)).toBeLessThan(16 * 1024 * 1024);
    expect(summary.uncompressedBytes).toBeLessThan(120 * 1024 * 1024);
  });

  describe('under gVisor with a read-only root', () => {
    let containers: ImageContainers;

    beforeAll(async () => {
      containers = await ImageContainers.create(image);
    });

    afterAll(() => containers?.removeAll());

    it('refuses a bad environment with its config_error line and exit code 1', async () => {
      const container = await containers.start({
        env: { RUNNER_NATS_URL: 'nats://127.0.0.1:1' },
        tmpfs: [],
        binds: [],
      });
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
        const container = await containers.start({
          env: settings,
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
