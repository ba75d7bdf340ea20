import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  linkedLibraries,
  prepareGvisorCommand,
  type GvisorCommand,
  type GvisorOptions,
} from './gvisor.js';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');
const nobody = 65534;
const workspace = { path: '/workspace', sizeBytes: 1024 * 1024 };
/** What gVisor and the spec add to the read-only paths. */
const sandboxMounts = ['/', '/dev', '/dev/pts', '/proc', '/sys', '/tmp', workspace.path];

let stateDir: string;
let readOnlyPaths: string[];

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function options(script: string, args: string[] = []): GvisorOptions {
  return {
    id: 'gvisor-test',
    command: process.execPath,
    args: ['--no-node-snapshot', '-e', script, ...args],
    env: {},
    cwd: '/',
    readOnlyPaths,
    workspace,
    stateDir,
  };
}

function start(command: { command: string; args: string[] }): ChildProcess {
  return spawn(command.command, command.args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** Runs `script` with the sandbox's Node and returns the JSON it prints last. */
async function runSandboxed(script: string, args: string[] = []): Promise<any> {
  const command = await prepareGvisorCommand(options(script, args));
  try {
    const result = await finished(start(command));
    expect(result).toMatchObject({ stderr: '', code: 0 });
    return JSON.parse(result.stdout.trim().split('\n').pop()!);
  } finally {
    await command.cleanup();
  }
}

/** How `path` must look inside: the directories leading to mounts, nothing else of the host. */
function expectedView(path: string, mountPoints: string[]): string[] | 'ENOENT' {
  const prefix = path === '/' ? '/' : `${path}/`;
  const children = mountPoints
    .filter((mount) => mount.startsWith(prefix) && mount !== prefix)
    .map((mount) => mount.slice(prefix.length).split('/')[0]!);
  return children.length ? [...new Set(children)].sort() : 'ENOENT';
}

/** Host processes whose command line names the container (runsc's sandbox and gofer). */
function hostProcessesOf(containerId: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(containerId);
      } catch {
        return false;
      }
    });
}

async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe('gVisor sandbox (runsc)', () => {
  beforeAll(async () => {
    await exec('runsc', ['--version']).catch((error: unknown) => {
      throw new Error(
        `runsc (gVisor) must be on PATH for these tests; CI installs it. ${String(error)}`,
      );
    });
    stateDir = mkdtempSync(join(tmpdir(), 'gvisor-test-'));
    const ivm = dirname(createRequire(import.meta.url).resolve('isolated-vm'));
    const addon = createRequire(join(ivm, 'package.json'))('node-gyp-build').path(ivm) as string;
    // The Node binary alone, not its directory: nothing else of a bin/ directory is needed.
    readOnlyPaths = [
      process.execPath,
      join(repo, 'node_modules'),
      ...(await linkedLibraries([process.execPath, addon])),
    ];
  });

  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('shows no host file outside the read-only paths, and those read-only', async () => {
    const hostPaths = ['/', '/etc', '/etc/shadow', '/etc/passwd', '/root', '/work', repo];
    hostPaths.push(join(repo, 'package.json'), join(repo, 'apps/api/src/bots/gvisor.ts'));
    const script = `
      const fs = require('node:fs');
      const view = (path) => {
        try { return fs.statSync(path).isDirectory() ? fs.readdirSync(path).sort() : fs.readFileSync(path, 'utf8'); }
        catch (error) { return error.code; }
      };
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\\n')
        .map((line) => line.split(' ')).map((fields) => ({ point: fields[4], options: fields[5] }));
      console.log(JSON.stringify({ views: JSON.parse(process.argv[1]).map(view), mounts }));`;
    const { views, mounts } = await runSandboxed(script, [JSON.stringify(hostPaths)]);

    const mountPoints = [...sandboxMounts, ...readOnlyPaths];
    expect(views).toEqual(hostPaths.map((path) => expectedView(path, mountPoints)));
    expect(mounts.map((mount: any) => mount.point).sort()).toEqual(mountPoints.sort());
    const readOnly = mounts.filter((mount: any) => mount.options.split(',').includes('ro'));
    expect(readOnly.map((mount: any) => mount.point).sort()).toEqual(
      ['/', ...readOnlyPaths].sort(),
    );
  });

  it("loads isolated-vm from the repository's node_modules and runs an isolate", async () => {
    const script = `
      const ivm = require(${JSON.stringify(join(repo, 'node_modules/isolated-vm'))});
      const isolate = new ivm.Isolate({ memoryLimit: 16 });
      const result = isolate.compileScriptSync('6 * 7').runSync(isolate.createContextSync());
      console.log(JSON.stringify({ result }));`;
    await expect(runSandboxed(script)).resolves.toEqual({ result: 42 });
  });

  describe('with a TCP server on the host loopback', () => {
    let server: Server;
    let received = '';

    beforeAll(async () => {
      server = createServer((socket) =>
        socket.on('data', (data) => {
          received += data.toString();
          socket.end(`hello ${data.toString()}`);
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('connects to it from the sandbox', async () => {
      const port = (server.address() as { port: number }).port;
      const script = `
        const socket = require('node:net').connect(${port}, '127.0.0.1', () => socket.write('bot'));
        socket.on('data', (data) => console.log(JSON.stringify({ reply: String(data) })));`;
      await expect(runSandboxed(script)).resolves.toEqual({ reply: 'hello bot' });
      expect(received).toBe('bot');
    });
  });

  it('writes to the workspace up to its size, and nowhere else but /tmp', async () => {
    const script = `
      const fs = require('node:fs');
      const write = (path, bytes) => {
        try { fs.writeFileSync(path, Buffer.alloc(bytes)); return 'ok'; } catch (error) { return error.code; }
      };
      console.log(JSON.stringify({
        small: write('/workspace/small', 256 * 1024),
        tooBig: write('/workspace/big', 1024 * 1024),
        tmp: write('/tmp/file', 1024),
        root: write('/file', 1),
        readOnly: write(${JSON.stringify(join(repo, 'node_modules/file'))}, 1),
      }));`;
    const writes = await runSandboxed(script);
    expect(writes).toMatchObject({ small: 'ok', tooBig: 'ENOSPC', tmp: 'ok' });
    expect(['EROFS', 'EACCES']).toContain(writes.root);
    expect(['EROFS', 'EACCES']).toContain(writes.readOnly);
  });

  it('runs as nobody without capabilities', async () => {
    const script = `
      const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
      const caps = Object.fromEntries(status.split('\\n').filter((line) => line.startsWith('Cap')).map((line) => line.split(':\\t')));
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), caps }));`;
    const none = '0000000000000000';
    await expect(runSandboxed(script)).resolves.toEqual({
      uid: nobody,
      gid: nobody,
      // gVisor's status has no CapAmb line.
      caps: { CapInh: none, CapPrm: none, CapEff: none, CapBnd: none },
    });
  });

  describe.each(['SIGTERM', 'SIGKILL'] as const)('killed with %s', (signal) => {
    let command: GvisorCommand | undefined;

    afterEach(async () => command?.cleanup());

    it('stops the sandbox, and cleanup leaves nothing behind', async () => {
      // A bot that ignores SIGTERM: stopping must not depend on its cooperation.
      const script = `process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);`;
      const prepared = await prepareGvisorCommand(options(script));
      command = prepared;
      const { containerId } = prepared;
      const child = start(prepared);
      const result = finished(child);
      await new Promise<void>((resolve) =>
        child.stdout?.on('data', (chunk: Buffer) => chunk.includes('ready') && resolve()),
      );
      expect(hostProcessesOf(containerId)).not.toEqual([]);

      child.kill(signal);
      await expect(result).resolves.toMatchObject({ signal });
      expect(await eventually(() => hostProcessesOf(containerId).length === 0)).toBe(true);
      await prepared.cleanup();
      // The bundle and runsc's state files are named after the container.
      const left = readdirSync(stateDir, { recursive: true }).map(String);
      expect(left.filter((name) => name.includes(containerId))).toEqual([]);
    });
  });
});
