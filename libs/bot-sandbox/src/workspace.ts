import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/** File names a bot may use: no separators, so nothing outside its own directory is reachable. */
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;
/** Files one workspace may hold. */
export const WORKSPACE_MAX_FILES = 64;

/** A refused workspace operation; its message reaches the bot as an Error. */
export class WorkspaceError extends Error {}

/** The scratch directory of one bot under `root`: `<root>/<tenant>/<channel>/<bot>`. */
export function workspaceDir(
  root: string,
  tenantId: string,
  channelId: string,
  botId: string,
): string {
  return join(root, tenantId, channelId, botId);
}

/** Deletes a bot's scratch directory (the bot was removed). */
export async function wipeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A bot's `ctx.workspace` (DESIGN §6): a few small text files in its own directory, at most
 * `maxBytes` in all. Calls are synchronous (they run inside the hook, under its deadline).
 * It is scratch space, not state: runners on other machines do not see it, and removing the bot
 * wipes it; what must last belongs in `setState`.
 */
export class BotWorkspace {
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Runs one operation the bot asked for; answers JSON (`{value}` or `{error}`) for the driver. */
  call(op: string, name: unknown, text: unknown): string {
    try {
      return JSON.stringify({ value: this.apply(op, name, text) });
    } catch (error) {
      const message =
        error instanceof WorkspaceError ? error.message : 'the workspace could not be used';
      return JSON.stringify({ error: `ctx.workspace: ${message}` });
    }
  }

  private apply(op: string, name: unknown, text: unknown): unknown {
    switch (op) {
      case 'list':
        return this.files().map(({ name: file, size }) => ({ name: file, size }));
      case 'read':
        return this.read(checkName(name));
      case 'write':
        if (typeof text !== 'string') throw new WorkspaceError('write(name, text) needs text');
        this.write(checkName(name), text);
        return null;
      case 'remove':
        rmSync(join(this.dir, checkName(name)), { force: true });
        return null;
      default:
        throw new WorkspaceError(`unknown operation ${op.slice(0, 16)}`);
    }
  }

  private read(name: string): string | null {
    let fd: number;
    try {
      fd = openSync(join(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  }

  private write(name: string, text: string): void {
    const size = Buffer.byteLength(text, 'utf8');
    const files = this.files();
    const others = files.filter((file) => file.name !== name);
    if (others.length >= WORKSPACE_MAX_FILES) {
      throw new WorkspaceError(`a workspace holds at most ${WORKSPACE_MAX_FILES} files`);
    }
    const used = others.reduce((sum, file) => sum + file.size, 0);
    if (used + size > this.maxBytes) {
      throw new WorkspaceError(
        `full: ${used} of ${this.maxBytes} bytes used, ${size} more do not fit`,
      );
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, name);
    // Never through a link: whatever planted one, the write stays in the directory.
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      writeFileSync(fd, text);
    } catch (error) {
      // A half-written file (the disk filled up) would only confuse the next read.
      rmSync(path, { force: true });
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  private files(): { name: string; size: number }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((name) => NAME.test(name))
      .map((name) => ({ name, size: lstatSync(join(this.dir, name)).size }));
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new WorkspaceError(
      'file names are 1 to 64 letters, digits, ".", "_" or "-" (no slashes)',
    );
  }
  return name;
}
