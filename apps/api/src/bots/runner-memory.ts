import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A command line: what `child_process.spawn` takes. */
export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
}

/** A command that runs inside its own memory cgroup, and how to remove that cgroup afterwards. */
export interface LimitedCommand extends CommandLine {
  /** The cgroup's directory; null when no limit could be applied. */
  readonly group: string | null;
  /** Removes the cgroup; call once the process (and anything it started) has exited. */
  cleanup(): Promise<void>;
}

/** Where runner cgroups go, below the API's own; the name also marks leftovers to sweep. */
const RUNNERS_GROUP = 'mp-runners';
/** Moves the shell into the cgroup named by $0, then becomes the command: no moment outside it. */
const JOIN_AND_EXEC = 'echo $$ > "$0" && exec "$@"';

/** One cgroup hierarchy that has the memory controller, and the files that set its limit. */
interface Hierarchy {
  readonly version: 1 | 2;
  /** The API's own cgroup directory in it. */
  readonly own: string;
}

/**
 * A hard memory limit for every runner process (issue 11 item 4), through the Linux memory cgroup
 * controller: each runner gets a cgroup of its own below the API's, with the limit set, and the
 * command joins it before it starts. Everything the command forks stays in it: `runsc run`'s
 * sandbox and gofer under gVisor too, so the limit bounds the whole sandbox. Past the limit the
 * kernel's OOM killer ends the process (SIGKILL): an isolate's own limit is soft (isolated-vm lets
 * a bot overshoot it 2–3×) and does not cover the process's other memory.
 *
 * cgroup v1 (a `memory` hierarchy the API may write below its own cgroup, e.g. as root) and v2
 * (the API's cgroup already delegates `memory` to its children) are used. Elsewhere the limit
 * cannot be applied: `open` says so once, and runners run with the isolate's limit only.
 * RLIMIT_DATA is no substitute: Node 24 reserves about 580 MiB of writable address space at start
 * and does not start under a limit of 512 MiB.
 */
export class RunnerMemoryLimit {
  private constructor(
    readonly limitMb: number,
    /** The directory runner cgroups are made in; null when no limit can be applied. */
    private readonly parent: string | null,
    private readonly version: 1 | 2,
  ) {}

  /**
   * Finds a memory cgroup hierarchy and prepares the runners' parent group, removing empty
   * runner groups a previous API process left behind (it was killed before it could). Logs once
   * what it applies, or why it cannot.
   */
  static async open(
    limitMb: number,
    logger: { log(message: string): void; warn(message: string): void },
  ): Promise<RunnerMemoryLimit> {
    try {
      const hierarchy = await ownMemoryCgroup();
      const parent = join(hierarchy.own, RUNNERS_GROUP);
      await mkdir(parent, { recursive: true });
      await sweep(parent);
      logger.log(
        `runner memory limit: ${limitMb} MiB per runner (cgroup v${hierarchy.version}, under ${parent})`,
      );
      return new RunnerMemoryLimit(limitMb, parent, hierarchy.version);
    } catch (error) {
      logger.warn(
        `BOT_RUNNER_MEMORY_MB (${limitMb} MiB) cannot be applied: ${(error as Error).message}. Runners run without a hard memory limit; only the isolate's (soft) limit holds.`,
      );
      return new RunnerMemoryLimit(limitMb, null, 1);
    }
  }

  /** Whether runners get the limit. */
  get applied(): boolean {
    return this.parent !== null;
  }

  /** `command` inside a fresh cgroup with the limit; unchanged when no limit can be applied. */
  async wrap(name: string, command: CommandLine): Promise<LimitedCommand> {
    if (!this.parent) return { ...command, group: null, cleanup: () => Promise.resolve() };
    const group = join(this.parent, `${name}-${randomUUID()}`);
    await mkdir(group);
    const bytes = String(this.limitMb * 1024 * 1024);
    try {
      if (this.version === 1) {
        await writeFile(join(group, 'memory.limit_in_bytes'), bytes);
        // With swap accounting, swap would be a way past the limit.
        await writeFile(join(group, 'memory.memsw.limit_in_bytes'), bytes).catch(ignoreMissing);
      } else {
        await writeFile(join(group, 'memory.max'), bytes);
        await writeFile(join(group, 'memory.swap.max'), '0').catch(ignoreMissing);
      }
    } catch (error) {
      await rmdir(group).catch(() => undefined);
      throw error;
    }
    return {
      command: '/bin/sh',
      args: ['-c', JOIN_AND_EXEC, join(group, 'cgroup.procs'), command.command, ...command.args],
      group,
      cleanup: () => removeGroup(group),
    };
  }
}

/** The API's own cgroup in the hierarchy that has the memory controller (/proc/self/cgroup). */
async function ownMemoryCgroup(): Promise<Hierarchy> {
  const lines = (await readFile('/proc/self/cgroup', 'utf8')).trim().split('\n');
  const mounts = await cgroupMounts();
  for (const line of lines) {
    const [, controllers = '', path = ''] = line.split(':');
    if (controllers.split(',').includes('memory')) {
      const mount = mounts.v1.get('memory');
      if (!mount) throw new Error('the memory cgroup (v1) is not mounted');
      return { version: 1, own: join(mount, path) };
    }
  }
  const unified = lines.find((line) => line.startsWith('0::'));
  if (!unified || !mounts.v2) throw new Error('no cgroup hierarchy has the memory controller');
  const own = join(mounts.v2, unified.slice(3));
  const delegated = (await readFile(join(own, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
  if (!delegated.includes('memory')) {
    throw new Error(
      `cgroup v2: ${own} does not delegate the memory controller to its children (cgroup.subtree_control); run the API in a cgroup that does`,
    );
  }
  return { version: 2, own };
}

/** Mount points of the v1 hierarchies by controller, and of the v2 one (/proc/self/mountinfo). */
async function cgroupMounts(): Promise<{ v1: Map<string, string>; v2: string | null }> {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    // proc(5): fields up to " - ", then the file system type, source and super options.
    const [before, after] = line.split(' - ');
    const mountPoint = before?.split(' ')[4];
    const [type, , superOptions = ''] = after?.split(' ') ?? [];
    if (!mountPoint) continue;
    if (type === 'cgroup2') v2 ??= mountPoint;
    if (type === 'cgroup') {
      for (const option of superOptions.split(',')) v1.set(option, mountPoint);
    }
  }
  return { v1, v2 };
}

/** Removes the empty runner groups under `parent`; one still in use refuses (EBUSY) and stays. */
async function sweep(parent: string): Promise<void> {
  const entries = await readdir(parent, { withFileTypes: true });
  await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => rmdir(join(parent, entry.name)).catch(() => undefined)),
  );
}

/** A group empties a moment after its last process exits (gVisor's sandbox lingers briefly). */
async function removeGroup(group: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(group);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
