import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, lstat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The image settings an OCI config holds (image-spec "config" object), as the tests read them. */
export interface ImageSettings {
  User: string;
  WorkingDir: string;
  Env: string[];
  Entrypoint: string[];
  Cmd?: string[];
}

/** An image config as skopeo prints it (`skopeo inspect --config`). */
export interface ImageConfig {
  config: ImageSettings;
  rootfs: { diff_ids: string[] };
  history: { created_by: string }[];
}

/** What oci-archive.mjs writes beside the archive (--summary). */
export interface ImageSummary {
  archive: string;
  name: string;
  uncompressedBytes: number;
  layers: { description: string; tarBytes: number; gzipBytes: number }[];
}

/** Whether `tool` is on PATH. */
export async function have(tool: string): Promise<boolean> {
  try {
    await exec('sh', ['-c', `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * umoci and skopeo, from Debian when missing and this is root (as .ci/run installs its tools).
 * Returns why they are not there, or null when they are.
 */
export async function ensureImageTools(): Promise<string | null> {
  const missing = async () =>
    (await Promise.all(['umoci', 'skopeo'].map(async (tool) => ((await have(tool)) ? null : tool))))
      .filter((tool) => tool !== null)
      .join(' ');
  if (!(await missing())) return null;
  if (process.getuid?.() === 0 && (await have('apt-get'))) {
    try {
      await exec('apt-get', ['update', '-qq']);
      await exec('apt-get', ['install', '-y', '-qq', 'umoci', 'skopeo'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch {
      // Reported below.
    }
  }
  const still = await missing();
  return still ? `${still} missing and not installable here (apt-get install umoci skopeo)` : null;
}

/** Runs an image build script with its output in `out`; returns the summary it wrote. */
export async function buildImage(script: string, out: string): Promise<ImageSummary> {
  await exec(script, [], {
    env: { ...process.env, IMAGES_OUT: out },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(await readFile(out.replace(/\.tar$/, '.json'), 'utf8')) as ImageSummary;
}

/** An image built into a temporary directory, read back and unpacked there. */
export interface BuiltImage {
  summary: ImageSummary;
  config: ImageConfig;
  /** The OCI runtime bundle umoci made of it (see unpack). */
  bundle: string;
  /** The bundle's root file system. */
  rootfs: string;
  /** Deletes the temporary directory with all of the above. */
  remove(): Promise<void>;
}

/**
 * Builds an image with its build script (scripts/images/build-*-image.sh) into a new temporary
 * directory, reads its config with skopeo and unpacks it with umoci there, as CI would.
 */
export async function buildUnpackedImage(script: string): Promise<BuiltImage> {
  const work = await mkdtemp(join(tmpdir(), `${basename(script, '.sh').replace(/^build-/, '')}-`));
  const remove = () => rm(work, { recursive: true, force: true });
  try {
    const summary = await buildImage(script, join(work, 'image.oci.tar'));
    const config = await inspectConfig(summary.archive);
    const tag = summary.name.split(':').pop() ?? '';
    const bundle = await unpack(summary.archive, tag, join(work, 'unpacked'));
    return { summary, config, bundle, rootfs: join(bundle, 'rootfs'), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The image's config, read from the archive by skopeo. */
export async function inspectConfig(archive: string): Promise<ImageConfig> {
  const { stdout } = await exec('skopeo', ['inspect', '--config', `oci-archive:${archive}`]);
  return JSON.parse(stdout) as ImageConfig;
}

/**
 * Unpacks the archive with umoci into an OCI runtime bundle (`dir/bundle`: config.json derived
 * from the image config, and rootfs/). umoci needs the layout as a directory and the tag the
 * archive's index names.
 */
export async function unpack(archive: string, tag: string, dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  await mkdir(layout, { recursive: true });
  await exec('tar', ['-xf', archive, '-C', layout]);
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  await exec('umoci', ['unpack', ...rootless, '--image', `${layout}:${tag}`, bundle]);
  return bundle;
}

/** A path of an unpacked image, with what its lstat says. */
export interface TreeEntry {
  /** Relative to the root, without a leading slash. */
  path: string;
  /** Permission bits (with setuid, setgid, sticky). */
  mode: number;
  uid: number;
  isFile: boolean;
  isDir: boolean;
}

/** Every path under `root`, with its lstat. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const entries = await readdir(root, { recursive: true });
  return Promise.all(
    entries.map(async (entry) => {
      const stat = await lstat(join(root, entry));
      return {
        path: relative(root, join(root, entry)),
        mode: stat.mode & 0o7777,
        uid: stat.uid,
        isFile: stat.isFile(),
        isDir: stat.isDirectory(),
      };
    }),
  );
}

/**
 * The settings of a Dockerfile's last stage (USER, WORKDIR, ENV, ENTRYPOINT, CMD in exec form)
 * and the staged layers it copies (`COPY --from=build /rootfs/<layer>/ /`), in order.
 */
export async function dockerfileFinalStage(
  path: string,
): Promise<{ settings: ImageSettings; layers: string[] }> {
  const lines = (await readFile(path, 'utf8'))
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const from = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  const settings: ImageSettings = { User: '', WorkingDir: '', Env: [], Entrypoint: [] };
  const layers: string[] = [];
  for (const line of lines.slice(from + 1)) {
    const [instruction = '', ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    switch (instruction.toUpperCase()) {
      case 'USER':
        settings.User = argument;
        break;
      case 'WORKDIR':
        settings.WorkingDir = argument;
        break;
      case 'ENV':
        settings.Env.push(...rest);
        break;
      case 'ENTRYPOINT':
        settings.Entrypoint = JSON.parse(argument) as string[];
        break;
      case 'CMD':
        settings.Cmd = JSON.parse(argument) as string[];
        break;
      case 'COPY': {
        const match = /--from=build \/rootfs\/([a-z]+)\/ \/$/.exec(argument);
        if (!match?.[1]) throw new Error(`unexpected COPY in the final stage: ${line}`);
        layers.push(match[1]);
        break;
      }
      default:
        throw new Error(`unexpected instruction in the final stage: ${line}`);
    }
  }
  return { settings, layers };
}

/**
 * Expects the image to be what the Dockerfile's last stage describes (docs/images.md: both ways of
 * building give the same image): the same user, directory, environment, entrypoint and command,
 * one layer per staged layer the stage copies, in its order.
 */
export async function expectBuiltFromDockerfile(
  config: ImageConfig,
  dockerfile: string,
): Promise<void> {
  const { settings, layers } = await dockerfileFinalStage(dockerfile);
  const { User, WorkingDir, Env, Entrypoint, Cmd } = config.config;
  expect({ User, WorkingDir, Env, Entrypoint, Cmd }).toEqual(settings);
  expect(config.history.map((entry) => entry.created_by.split(':')[0])).toEqual(layers);
  expect(config.rootfs.diff_ids).toHaveLength(layers.length);
}

/** Names no file or directory of an image may have: shells and package managers. */
const SHELLS_AND_PACKAGE_MANAGERS = [
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
];

/**
 * Expects what docs/images.md promises of every image: no shell, no package manager, and no
 * executable but node and the dynamic loader. `appModules`, when given, is a directory of the
 * application's dependencies (`app/node_modules/`), whose own files are left to the caller.
 */
export function expectMinimalImage(
  tree: TreeEntry[],
  { appModules }: { appModules?: string } = {},
): void {
  const system = appModules ? tree.filter((entry) => !entry.path.startsWith(appModules)) : tree;
  const executables = system
    .filter((entry) => entry.isFile && (entry.mode & 0o111) !== 0)
    .map((entry) => entry.path)
    .sort();
  expect(executables).toEqual(['lib64/ld-linux-x86-64.so.2', 'usr/local/bin/node']);
  const names = system.map((entry) => basename(entry.path));
  for (const tool of SHELLS_AND_PACKAGE_MANAGERS) expect(names).not.toContain(tool);
  const paths = tree.map((entry) => entry.path);
  for (const absent of ['bin/sh', 'usr/bin', 'var/lib/dpkg']) expect(paths).not.toContain(absent);
}
