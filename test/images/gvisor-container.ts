import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { have } from './oci-image.js';
import type { BuiltImage } from './oci-image.js';

const exec = promisify(execFile);

/** Why containers cannot run under gVisor here, or null when they can. */
export async function gvisorUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root (runsc run needs it)';
  return (await have('runsc')) ? null : 'runsc is not installed (apt-get install runsc)';
}

/** A container as a kubelet would make it from an image: its root, process and mounts. */
export interface ContainerSpec {
  /** The unpacked image: mounted read-only as `/`, like readOnlyRootFilesystem: true. */
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  /** Memory-backed mounts (an emptyDir with medium: Memory), owned by the container's user. */
  tmpfs: { path: string; sizeBytes: number }[];
  /** Host directories mounted read-only (a Secret volume). */
  binds: { source: string; destination: string }[];
}

/** The process umoci derived from the image config (the bundle's config.json). */
export interface ImageProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number };
}

/** The process of an unpacked image (see test/images/oci-image.ts, unpack). */
export async function imageProcess(bundle: string): Promise<ImageProcess> {
  const runtime = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: ImageProcess;
  };
  return runtime.process;
}

/** `NAME=value` entries with `overrides` replacing or adding by name, as a pod's env does. */
export function withEnv(env: string[], overrides: Record<string, string>): string[] {
  const merged = new Map(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry]));
  for (const [name, value] of Object.entries(overrides)) merged.set(name, `${name}=${value}`);
  return [...merged.values()];
}

/** A container started by `runsc run`; its standard output is collected line by line. */
export interface RunningContainer {
  readonly id: string;
  /** Standard output so far, one entry per line. */
  lines(): string[];
  stderr(): string;
  /** The exit code `runsc run` passes on from the container's process. */
  readonly exited: Promise<number | null>;
  /** `runsc kill`: a signal to the container's process, as the kubelet sends on pod deletion. */
  signal(name: 'TERM' | 'KILL'): Promise<void>;
  /** Deletes the sandbox if still there and its bundle. */
  remove(): Promise<void>;
}

/**
 * Runs a container under gVisor the way apps/api/src/bots/gvisor.ts runs a runner, but with the
 * image's own root file system instead of host paths: `--network=host` (NATS on the host's
 * loopback), no cgroups, no writable overlay; no capabilities, no new privileges.
 */
export async function runInGvisor(
  spec: ContainerSpec,
  stateDir: string,
): Promise<RunningContainer> {
  const id = `image-test-${randomUUID()}`;
  const root = join(stateDir, 'runsc');
  const bundle = join(stateDir, 'bundles', id);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(bundle, { recursive: true, mode: 0o700 });
  const owner = [`uid=${spec.uid}`, `gid=${spec.gid}`];
  const config = {
    ociVersion: '1.0.0',
    process: {
      user: { uid: spec.uid, gid: spec.gid },
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    },
    root: { path: spec.rootfs, readonly: true },
    hostname: 'bot',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: [] },
      ...spec.tmpfs.map((mount) => ({
        destination: mount.path,
        type: 'tmpfs',
        source: 'tmpfs',
        options: [`size=${mount.sizeBytes}`, 'mode=0700', ...owner],
      })),
      ...spec.binds.map((bind) => ({
        destination: bind.destination,
        type: 'bind',
        source: bind.source,
        options: ['rbind', 'ro'],
      })),
    ],
    linux: { namespaces: ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
  };
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
  const flags = ['--root', root, '--network=host', '--ignore-cgroups', '--overlay2=none'];
  const child = spawn('runsc', [...flags, 'run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return {
    id,
    lines: () => stdout.split('\n').filter((line) => line.length > 0),
    stderr: () => stderr,
    exited,
    async signal(name) {
      await exec('runsc', ['--root', root, 'kill', id, name]);
    },
    async remove() {
      child.kill('SIGKILL');
      await exited.catch(() => null);
      await exec('runsc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
    },
  };
}

/** What a pod's container changes of the image's process, and the volumes it mounts. */
export interface PodContainer {
  /** Replace the image's Cmd and keep its Entrypoint, as a pod's `args` do. */
  args?: string[];
  /** Replace or add environment variables by name. */
  env: Record<string, string>;
  tmpfs: ContainerSpec['tmpfs'];
  binds: ContainerSpec['binds'];
}

/**
 * Containers of one built image run under gVisor as a pod would run them: the image's own
 * process (entrypoint and command, environment, directory, user) with the pod's changes on top,
 * on the image's root file system, read-only.
 */
export class ImageContainers {
  private readonly started: RunningContainer[] = [];

  private constructor(
    private readonly image: BuiltImage,
    private readonly stateDir: string,
  ) {}

  /** Keeps runsc's state and the containers' bundles in a new temporary directory. */
  static async create(image: BuiltImage): Promise<ImageContainers> {
    return new ImageContainers(image, await mkdtemp(join(tmpdir(), 'image-runsc-')));
  }

  async start(pod: PodContainer): Promise<RunningContainer> {
    const own = await imageProcess(this.image.bundle);
    const container = await runInGvisor(
      {
        rootfs: this.image.rootfs,
        args: pod.args ? [...this.image.config.config.Entrypoint, ...pod.args] : own.args,
        env: withEnv(own.env, pod.env),
        cwd: own.cwd,
        uid: own.user.uid,
        gid: own.user.gid,
        tmpfs: pod.tmpfs,
        binds: pod.binds,
      },
      this.stateDir,
    );
    this.started.push(container);
    return container;
  }

  /** Removes every container started, and the state directory. */
  async removeAll(): Promise<void> {
    await Promise.all(this.started.map((container) => container.remove()));
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
