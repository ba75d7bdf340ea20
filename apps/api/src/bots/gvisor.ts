import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** uid and gid "nobody": the sandboxed process owns nothing, not even the files bound in. */
const SANDBOX_UID = 65534;
/** gVisor keeps tmpfs in the sandbox's memory, so /tmp gets a bound like the workspace. */
const TMP_SIZE_BYTES = 64 * 1024 * 1024;

/** What to run in the sandbox and which parts of the host it may see. */
export interface GvisorOptions {
  /** Names the sandbox; a random suffix makes every start a new container. */
  id: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Working directory inside the sandbox; it must be one of the mounts. */
  cwd: string;
  /** Host files and directories bound read-only at the same path: the only host files visible. */
  readOnlyPaths: string[];
  /** A fresh writable tmpfs at `path` inside the sandbox, at most `sizeBytes`, gone at exit. */
  workspace: { path: string; sizeBytes: number } | null;
  /** Holds runsc's state directory and the bundles; private to this process. */
  stateDir: string;
}

/** A command for `child_process.spawn`; its stdio is the sandboxed process's stdio. */
export interface GvisorCommand {
  command: string;
  args: string[];
  /** For `runsc kill`, `runsc ps` and friends (with `--root` from `args`). */
  containerId: string;
  /**
   * Deletes the sandbox if still there and removes the bundle. Call once the spawned process
   * exited; called earlier it stops the sandbox. Safe to call twice.
   */
  cleanup(): Promise<void>;
}

/**
 * Writes an OCI bundle and returns the `runsc run` command that starts it. The root file system
 * is an empty read-only directory; the process sees only `readOnlyPaths`, a small /tmp, the
 * workspace, and gVisor's own /proc, /sys and /dev (sentry-made, nothing of the host's).
 * SIGTERM or SIGKILL to the spawned `runsc` ends the sandbox at once: `runsc run` does not
 * forward signals and starts the sandbox attached (it dies with its parent). A graceful stop
 * is `runsc kill <containerId> TERM`.
 */
export async function prepareGvisorCommand(options: GvisorOptions): Promise<GvisorCommand> {
  const containerId = `${options.id}-${randomUUID()}`;
  const root = join(options.stateDir, 'runsc');
  const bundle = join(options.stateDir, 'bundles', containerId);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(bundle, { recursive: true, mode: 0o700 });
  // The sandbox's "/": empty, and searchable by the sandbox user whatever the umask.
  await mkdir(join(bundle, 'rootfs'));
  await chmod(join(bundle, 'rootfs'), 0o755);
  const config = bundleConfig(options, await readOnlyMounts(options.readOnlyPaths));
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
  return {
    command: 'runsc',
    args: [...runscFlags(root), 'run', '--bundle', bundle, containerId],
    containerId,
    async cleanup() {
      await exec('runsc', ['--root', root, 'delete', '--force', containerId]);
      await rm(bundle, { recursive: true, force: true });
    },
  };
}

/**
 * `--network=host`: no network namespace or netstack of its own; the sandbox uses the host's
 * stack, so it reaches NATS and the API on the host's loopback, but also every address the host
 * can reach, and it may listen on host ports. Limits on egress must come from outside.
 * `--ignore-cgroups`: the spec sets no resource limits; the caller starts `runsc run` inside a
 * cgroup of its own (RunnerMemoryLimit), which the sandbox and gofer inherit, so runsc writes
 * nothing under /sys/fs/cgroup and also runs where that is read-only to it.
 * `--overlay2=none`: newer runsc put a writable overlay on the root; ours stays read-only.
 */
function runscFlags(root: string): string[] {
  return ['--root', root, '--network=host', '--ignore-cgroups', '--overlay2=none'];
}

/** The runtime spec (OCI runtime-spec 1.0 config.json): unprivileged, read-only, no caps. */
function bundleConfig(options: GvisorOptions, binds: object[]): object {
  const { workspace } = options;
  const owner = [`uid=${SANDBOX_UID}`, `gid=${SANDBOX_UID}`];
  return {
    ociVersion: '1.0.0',
    process: {
      user: { uid: SANDBOX_UID, gid: SANDBOX_UID },
      args: [options.command, ...options.args],
      env: Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
      cwd: options.cwd,
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'bot',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      tmpfs('/dev', []),
      tmpfs('/tmp', [`size=${TMP_SIZE_BYTES}`, 'mode=1777']),
      ...(workspace
        ? [tmpfs(workspace.path, [`size=${workspace.sizeBytes}`, 'mode=0700', ...owner])]
        : []),
      ...binds,
    ],
    // No network namespace: --network=host uses the host's.
    linux: { namespaces: ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type })) },
  };
}

/** gVisor honours `size=` on tmpfs: writes past it fail with ENOSPC. */
function tmpfs(destination: string, options: string[]): object {
  return { destination, type: 'tmpfs', source: 'tmpfs', options };
}

/** Read-only binds, parents first; the source is resolved, so a symlink binds its target. */
async function readOnlyMounts(paths: string[]): Promise<object[]> {
  const destinations = [...new Set(paths.map((path) => resolve(path)))].sort();
  return Promise.all(
    destinations.map(async (destination) => ({
      destination,
      type: 'bind',
      source: await realpath(destination),
      options: ['rbind', 'ro'],
    })),
  );
}

/**
 * The shared libraries and loader that `files` (executables, `.node` addons) link against, as
 * `ldd` names them: the paths the dynamic loader looks in, to pass as `readOnlyPaths`.
 */
export async function linkedLibraries(files: string[]): Promise<string[]> {
  const libraries = new Set<string>();
  for (const file of files) {
    const { stdout } = await exec('ldd', [file]);
    if (stdout.includes('not found')) throw new Error(`ldd ${file}: missing library\n${stdout}`);
    for (const [, path] of stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)$/gm)) {
      if (path) libraries.add(path);
    }
  }
  return [...libraries];
}
