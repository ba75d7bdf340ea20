import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException, KubeConfig } from '@kubernetes/client-node';

const run = promisify(execFile);

/**
 * The cluster's admin kubeconfig, as `scripts/k8s/cluster.sh exec` sets KUBECONFIG. These tests
 * run only there: inside the cluster's network namespace, where the API server is at 127.0.0.1.
 */
export function adminKubeConfig(): { kubeConfig: KubeConfig; path: string } {
  const path = process.env['KUBECONFIG'];
  if (!path) {
    throw new Error(
      'KUBECONFIG is not set: run the k8s tier through scripts/k8s/test.sh (cluster.sh exec)',
    );
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return { kubeConfig, path };
}

/** `kubectl` with the admin kubeconfig (the one on PATH matches the server, cluster.sh says). */
export async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/**
 * Runs a Node script in a pod's container (the images have no shell, only node). Arguments
 * follow `--` and reach the script as process.argv[1..].
 */
export function nodeIn(
  kubeconfig: string,
  pod: { namespace: string; name: string; container: string },
  script: string,
  ...args: string[]
): Promise<string> {
  return kubectl(kubeconfig, [
    'exec',
    '-n',
    pod.namespace,
    pod.name,
    '-c',
    pod.container,
    '--',
    '/usr/local/bin/node',
    '-e',
    script,
    ...args,
  ]);
}

/** How a TCP connect from inside a pod ended: `connected`, an error code, or `timeout`. */
export type Reach = Record<string, string>;

/** Opens a TCP connection to each `host:port` at once, 2 s each, and says how each ended. */
const PROBE = `
const net = require('net');
const targets = JSON.parse(process.argv[1]);
Promise.all(targets.map((target) => new Promise((resolve) => {
  const i = target.lastIndexOf(':');
  const socket = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
  const end = (how) => { socket.destroy(); resolve([target, how]); };
  socket.setTimeout(2000, () => end('timeout'));
  socket.once('connect', () => end('connected'));
  socket.once('error', (error) => end(error.code || String(error)));
}))).then((results) => process.stdout.write(JSON.stringify(Object.fromEntries(results))));
`;

export async function reachFrom(
  kubeconfig: string,
  pod: { namespace: string; name: string; container: string },
  targets: string[],
): Promise<Reach> {
  return JSON.parse(await nodeIn(kubeconfig, pod, PROBE, JSON.stringify(targets))) as Reach;
}

/**
 * Adds an address to the node's loopback (this process is in the node's network namespace);
 * false if it was there already.
 */
export async function addNodeAddress(cidr: string): Promise<boolean> {
  try {
    await run('ip', ['addr', 'add', cidr, 'dev', 'lo']);
    return true;
  } catch (error) {
    if (/File exists/.test((error as { stderr?: string }).stderr ?? '')) return false;
    throw error;
  }
}

export async function removeNodeAddress(cidr: string): Promise<void> {
  await run('ip', ['addr', 'del', cidr, 'dev', 'lo']).catch(() => undefined);
}

/** A 404 from the API server: the object is gone. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/** A pod's memory as the node's cgroup (v1) counts it, in bytes; null if it cannot be read. */
export interface PodCgroupMemory {
  /** memory.usage_in_bytes: everything charged to the pod. */
  usage: number;
  /** Anonymous memory of the pod's host processes: gVisor's sentry and gofers, their Go heaps. */
  rss: number;
  /** Shared memory: under gVisor, the sandboxed processes' own memory lives in the sentry's memfd. */
  shmem: number;
  /** Page cache charged to the pod but shmem (files read through the gofer). */
  fileCache: number;
  /** memory.max_usage_in_bytes: the peak. */
  peak: number;
}

export function podCgroupMemory(podUid: string): PodCgroupMemory | null {
  const root = '/sys/fs/cgroup/memory';
  const dir = findDir(root, `pod${podUid}`, 5);
  if (!dir) return null;
  const stat = new Map(
    readFileSync(join(dir, 'memory.stat'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string])
      .map(([key, value]) => [key, Number(value)]),
  );
  const shmem = stat.get('total_shmem') ?? 0;
  return {
    usage: Number(readFileSync(join(dir, 'memory.usage_in_bytes'), 'utf8')),
    rss: stat.get('total_rss') ?? 0,
    shmem,
    fileCache: (stat.get('total_cache') ?? 0) - shmem,
    peak: Number(readFileSync(join(dir, 'memory.max_usage_in_bytes'), 'utf8')),
  };
}

function findDir(dir: string, name: string, depth: number): string | null {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return null;
  }
  if (entries.includes(name)) return join(dir, name);
  if (depth === 0) return null;
  for (const entry of entries) {
    const found = findDir(join(dir, entry), name, depth - 1);
    if (found) return found;
  }
  return null;
}

export const MiB = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
