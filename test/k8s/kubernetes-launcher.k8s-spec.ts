import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  loadAllYaml,
} from '@kubernetes/client-node';
import type { V1Pod, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { BotLauncher } from '#bots';
import type { RunnerFleet } from '#bots';
import type { BotId, ChannelId, TenantId } from '#core';
import type { BotAddress } from '#events';
import {
  LABELS,
  runnerLabels,
  runnerName,
} from '../../apps/api/src/bots/kubernetes/runner-objects.js';
import { playToVerifiedEnd, readAll } from '../e2e/game-helpers.js';
import type { Message } from '../e2e/game-helpers.js';
import { eventually } from '../support/eventually.js';
import { connectAgent } from '../support/mcp-client.js';
import type { Agent } from '../support/mcp-client.js';
import { testNats } from '../support/nats.js';
import { startTestApp } from '../support/test-app.js';
import type { TestApp } from '../support/test-app.js';
import {
  MiB,
  addNodeAddress,
  adminKubeConfig,
  isNotFound,
  kubectl,
  nodeIn,
  podCgroupMemory,
  reachFrom,
  removeNodeAddress,
} from './kube-helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
/** The runner image scripts/k8s/test.sh imported (scripts/images/build-runner-image.sh names it). */
const IMAGE = process.env['TEST_K8S_IMAGE'] ?? `docker.io/local/mcp-bot-runner:${VERSION}`;
/**
 * A runner image that cannot be pulled: a tag the node does not have (IfNotPresent) from a registry
 * nobody serves. On the node's own loopback it fails at once; a docker.io name fails too, but here
 * only after about 50 s of DNS timeouts per pull (nothing answers outside the network namespace).
 */
const MISSING_IMAGE =
  process.env['TEST_K8S_MISSING_IMAGE'] ?? 'localhost:1/local/mcp-bot-runner:does-not-exist';
/** Idle runners stop after this long; long enough to exec into a pod after its bot answered. */
const IDLE_SECONDS = 10;
/** The `slow` hook's busy wait, under the hook limit below. */
const SLOW_HOOK_MS = 2_500;
const HOOK_TIMEOUT_MS = 5_000;

/** Echoes each message with a running count kept in its state; `slow` hooks take a while. */
const COUNTING_ECHO = `export default class Counter {
  constructor(ctx) { this.ctx = ctx; }
  onMessage(msg) {
    if (!msg || msg.sender.startsWith('bot:')) return;
    if (msg.body.text === 'slow') { const end = Date.now() + ${SLOW_HOOK_MS}; while (Date.now() < end) {} }
    const state = this.ctx.getState();
    const count = (state.count ?? 0) + 1;
    this.ctx.setState({ count });
    this.ctx.post('bot', { echo: msg.body.text ?? null, count });
  }
}`;

/** What the launcher's RBAC Role allows (deploy/kubernetes), bound to a ServiceAccount here. */
const RBAC_FILE = 'deploy/kubernetes/bot-launcher-rbac.yaml';
const LAUNCHER_ACCOUNT = 'mcp-multiplayer-api';

interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}
interface Permission {
  group: string;
  resource: string;
  verb: string;
}

/**
 * The calls the API makes in the bots' namespace with BOT_LAUNCHER=kubernetes: KubernetesRunners
 * (pods created, read, watched and deleted; their logs; a Secret and a NetworkPolicy created per
 * pod) and RunnerLeases (a Lease per bot, read, created, replaced).
 */
const LAUNCHER_CALLS: Permission[] = [
  ...['create', 'get', 'watch', 'delete'].map((verb) => ({ group: '', resource: 'pods', verb })),
  { group: '', resource: 'pods/log', verb: 'get' },
  { group: '', resource: 'secrets', verb: 'create' },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verb: 'create' },
  ...['get', 'create', 'update'].map((verb) => ({
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb,
  })),
];

/** What the launcher calls that `rules` do not grant, and what they grant that it never calls. */
function rbacGaps(rules: RbacRule[]): { missing: Permission[]; extra: Permission[] } {
  const key = (p: Permission) => `${p.group}/${p.resource}/${p.verb}`;
  const granted = rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.verbs ?? []).map((verb) => ({ group, resource, verb })),
      ),
    ),
  );
  const grantedKeys = new Set(granted.map(key));
  const neededKeys = new Set(LAUNCHER_CALLS.map(key));
  return {
    missing: LAUNCHER_CALLS.filter((p) => !grantedKeys.has(key(p))),
    extra: granted.filter((p) => !neededKeys.has(key(p))),
  };
}

/**
 * BOT_LAUNCHER=kubernetes on a real node (issue 13): scripts/k8s/cluster.sh's single-node cluster
 * with gVisor, Pod Security admission and NetworkPolicy (kube-router). The API runs here, in the
 * cluster's network namespace, with the test PostgreSQL and NATS; NATS listens on every address
 * so the pods reach it at the node's address. The launcher acts as a ServiceAccount bound to the
 * Role in deploy/kubernetes, so that Role is proved sufficient too; the test itself is admin.
 */
describe('BOT_LAUNCHER=kubernetes on the real node', () => {
  const { kubeConfig: admin, path: adminPath } = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const networking = admin.makeApiClient(NetworkingV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = `mp-k8s-${randomBytes(3).toString('hex')}`;
  const nats = testNats();
  const natsPort = Number(new URL(nats.servers).port);
  let nodeIp: string;
  let scratch: string;
  let launcherKubeconfig: string;
  let app: TestApp;
  let agent: Agent;
  let fleet: RunnerFleet;
  let roleGaps: { missing: Permission[]; extra: Permission[] };

  /** The API with the kubernetes launcher, acting as the launcher's ServiceAccount. */
  async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
    const before = process.env['KUBECONFIG'];
    // The launcher reads KUBECONFIG as it is built (KubeConfig.loadFromDefault).
    process.env['KUBECONFIG'] = launcherKubeconfig;
    try {
      return await startTestApp({
        env: {
          ...nats.env,
          BOT_LAUNCHER: 'kubernetes',
          BOT_K8S_NAMESPACE: namespace,
          BOT_K8S_IMAGE: IMAGE,
          BOT_K8S_NATS_URL: `nats://${nodeIp}:${natsPort}`,
          BOT_K8S_NATS_PEER: `cidr:${nodeIp}/32`,
          BOT_HOOK_TIMEOUT_MS: String(HOOK_TIMEOUT_MS),
          BOT_RUNNER_IDLE_SECONDS: String(IDLE_SECONDS),
          LOG_LEVEL: process.env['TEST_K8S_LOG_LEVEL'] ?? 'error',
          ...env,
        },
      });
    } finally {
      process.env['KUBECONFIG'] = before;
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'mp-k8s-test-'));
    const nodes = await core.listNode();
    nodeIp = nodes.items[0]?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    expect(nodeIp).not.toBe('');
    // The bots' namespace refuses any pod that does not meet Pod Security "restricted".
    await core.createNamespace({
      body: {
        metadata: {
          name: namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      },
    });
    launcherKubeconfig = await launcherIdentity();
    app = await startApp();
    agent = await connectAgent(app.url, 'host');
    fleet = app.nest.get<BotLauncher, RunnerFleet>(BotLauncher);
  });

  afterAll(async () => {
    await agent?.close();
    await app?.close();
    await core
      .deleteNamespace({ name: namespace, propagationPolicy: 'Background' })
      .catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * A ServiceAccount with the Role and RoleBinding of deploy/kubernetes (their namespaces made
   * this test's), and a kubeconfig with a token for it.
   */
  async function launcherIdentity(): Promise<string> {
    // As plain data: the namespaces are this test's.
    const objects = loadAllYaml(readFileSync(RBAC_FILE, 'utf8')) as {
      kind: string;
      metadata: { namespace?: string };
      rules?: RbacRule[];
      subjects?: { name: string; namespace?: string }[];
    }[];
    const role = objects.find((o) => o.kind === 'Role');
    const binding = objects.find((o) => o.kind === 'RoleBinding');
    if (!role || !binding) throw new Error(`${RBAC_FILE} has no Role and RoleBinding`);
    role.metadata.namespace = namespace;
    binding.metadata.namespace = namespace;
    for (const subject of binding.subjects ?? []) subject.namespace = namespace;
    roleGaps = rbacGaps(role.rules ?? []);
    // What the file lacks is added here, so that the rest can run; one test fails on it.
    role.rules = [
      ...(role.rules ?? []),
      ...roleGaps.missing.map(({ group, resource, verb }) => ({
        apiGroups: [group],
        resources: [resource],
        verbs: [verb],
      })),
    ];
    expect(binding.subjects?.map((s) => s.name)).toEqual([LAUNCHER_ACCOUNT]);
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: LAUNCHER_ACCOUNT } },
    });
    await rbac.createNamespacedRole({ namespace, body: role as V1Role });
    await rbac.createNamespacedRoleBinding({ namespace, body: binding as V1RoleBinding });
    const request = await core.createNamespacedServiceAccountToken({
      name: LAUNCHER_ACCOUNT,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const cluster = admin.getCurrentCluster();
    if (!cluster || !request.status?.token) throw new Error('no cluster or no token');
    const launcher = new KubeConfig();
    launcher.loadFromOptions({
      clusters: [cluster],
      users: [{ name: LAUNCHER_ACCOUNT, token: request.status.token }],
      contexts: [{ name: 'launcher', cluster: cluster.name, user: LAUNCHER_ACCOUNT }],
      currentContext: 'launcher',
    });
    const file = join(scratch, 'launcher.kubeconfig');
    writeFileSync(file, launcher.exportConfig(), { mode: 0o600 });
    return file;
  }

  interface Counter {
    id: string;
    address: BotAddress;
  }

  /** A channel with the counting echo bot and one admin seat, which the host takes. */
  async function counterChannel(name: string, player: Agent = agent): Promise<Counter> {
    const created = await player.call<{ channel_id: string; invites: string[] }>('create_channel', {
      name,
      slots: ['bot:counter', 'invite:host:admin'],
      bot_code: COUNTING_ECHO,
    });
    await player.call('join_channel', { invite_code: created.invites[0] });
    const info = await player.call<{ bots: { bot_id: string }[] }>('get_channel_info', {
      channel_id: created.channel_id,
    });
    return {
      id: created.channel_id,
      address: {
        tenantId: 'ten_default' as TenantId,
        channelId: created.channel_id as ChannelId,
        botId: (info.bots[0]?.bot_id ?? '') as BotId,
      },
    };
  }

  function post(channelId: string, text: string, player: Agent = agent): Promise<unknown> {
    return player.call('post_message', { channel_id: channelId, body: text });
  }

  function replies(all: Message[]): { echo: unknown; count: unknown }[] {
    return all
      .filter((m) => m.sender.startsWith('bot:') && m.kind === 'bot')
      .map((m) => ({ echo: m.body['echo'], count: m.body['count'] }));
  }

  /** Posts and waits for the bot's answer to it; returns the milliseconds in between. */
  async function postAndTime(channel: Counter, text: string): Promise<number> {
    const before = replies(await readAll(agent, channel.id)).length;
    const start = performance.now();
    await post(channel.id, text);
    await eventually(
      async () => replies(await readAll(agent, channel.id)).length > before,
      `the bot's answer to "${text}"`,
      60_000,
    );
    return Math.round(performance.now() - start);
  }

  async function readPod(name: string): Promise<V1Pod | null> {
    try {
      return await core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The bot's pod once its runner container runs. */
  async function runningPod(address: BotAddress): Promise<V1Pod> {
    let pod: V1Pod | null = null;
    await eventually(
      async () => {
        pod = await readPod(runnerName(address));
        return Boolean(pod?.status?.containerStatuses?.[0]?.state?.running);
      },
      'the runner pod to run',
      60_000,
    );
    return pod as unknown as V1Pod;
  }

  /** The Secrets and NetworkPolicies of one bot, found by its label. */
  async function ownedObjects(address: BotAddress): Promise<{
    secrets: { name: string; owner: string | undefined }[];
    policies: { name: string; owner: string | undefined }[];
  }> {
    const labelSelector = `${LABELS.key}=${runnerLabels(address)[LABELS.key]}`;
    const secrets = await core.listNamespacedSecret({ namespace, labelSelector });
    const policies = await networking.listNamespacedNetworkPolicy({ namespace, labelSelector });
    const describe = (o: {
      metadata?: { name?: string; ownerReferences?: { uid: string }[] };
    }): { name: string; owner: string | undefined } => ({
      name: o.metadata?.name ?? '',
      owner: o.metadata?.ownerReferences?.[0]?.uid,
    });
    return { secrets: secrets.items.map(describe), policies: policies.items.map(describe) };
  }

  /** Waits until the bot's runner has stopped idle and its pod is gone. */
  async function coldPod(address: BotAddress): Promise<void> {
    await eventually(
      async () => fleet.runnerOf(address) === null && (await readPod(runnerName(address))) === null,
      'the idle runner and its pod to go',
      (IDLE_SECONDS + 30) * 1000,
    );
  }

  it('needs exactly what the Role in deploy/kubernetes grants, nothing missing, nothing more', () => {
    expect(roleGaps).toEqual({ missing: [], extra: [] });
  });

  it('plays GuessBot to the end with its runner in a pod: two agents, hashes verified', async () => {
    const [alice, bob] = await Promise.all([
      connectAgent(app.url, 'alice'),
      connectAgent(app.url, 'bob'),
    ]);
    try {
      const created = await agent.call<{ channel_id: string; invites: string[] }>(
        'create_channel',
        {
          name: 'guess in a pod',
          slots: ['bot:referee', 'invite:alice', 'invite:bob'],
          bot_preset: 'GuessBot',
        },
      );
      const channelId = created.channel_id;
      const joined = await alice.call<{ bots: { bot_id: string }[] }>('join_channel', {
        invite_code: created.invites[0],
      });
      await bob.call('join_channel', { invite_code: created.invites[1] });
      const address: BotAddress = {
        tenantId: 'ten_default' as TenantId,
        channelId: channelId as ChannelId,
        botId: (joined.bots[0]?.bot_id ?? '') as BotId,
      };
      const code = await alice.call<{ inline_code: string; code_hash: string }>('get_bot_code', {
        channel_id: channelId,
        bot_id: address.botId,
      });
      expect(code.code_hash).toBe(`sha256:${sha256(code.inline_code)}`);
      await eventually(
        async () => (await readAll(alice, channelId)).some((m) => m.body['type'] === 'bot:turn'),
        "GuessBot's first turn",
        60_000,
      );
      const history = await readAll(alice, channelId);
      expect(history.find((m) => m.body['type'] === 'bot:attach')?.body['code_hash']).toBe(
        code.code_hash,
      );
      const commit = history.find((m) => m.body['type'] === 'bot:commit')?.body['commit'];
      expect(commit).toMatch(/^[0-9a-f]{64}$/);
      // The hooks ran in the bot's pod, not here.
      expect(fleet.runnerOf(address)).toBe(runnerName(address));
      expect(await readPod(runnerName(address))).not.toBeNull();

      const final = await playToVerifiedEnd([alice, bob], channelId, commit);
      expect(final.some((m) => m.body['type'] === 'bot:error')).toBe(false);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('runs the pod under gVisor, and everything the launcher made passed a restricted namespace', async () => {
    const channel = await counterChannel('sandbox');
    await postAndTime(channel, 'hello');
    const pod = await runningPod(channel.address);
    expect(pod.spec?.runtimeClassName).toBe('gvisor');
    const ns = await core.readNamespace({ name: namespace });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // What was admitted is the hardened pod, as stored.
    const container = pod.spec?.containers[0];
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const inside = { namespace, name: runnerName(channel.address), container: 'runner' };
    const version = await nodeIn(
      adminPath,
      inside,
      "process.stdout.write(require('fs').readFileSync('/proc/version','utf8'))",
    );
    expect(version).toMatch(/gvisor/);
    expect(version).not.toMatch(new RegExp(readFileSync('/proc/version', 'utf8').slice(0, 30)));
    // Its Secret and NetworkPolicy exist, owned by this pod, so they go with it.
    const owned = await ownedObjects(channel.address);
    expect(owned.secrets.map((s) => s.owner)).toEqual([pod.metadata?.uid]);
    expect(owned.policies.map((p) => p.owner)).toEqual([pod.metadata?.uid]);
    // The namespace does refuse what falls short of "restricted": the same pod, privileged.
    const privileged = structuredClone(pod);
    privileged.metadata = { name: 'privileged-copy', namespace };
    delete privileged.status;
    delete privileged.spec?.nodeName;
    const hardened = privileged.spec?.containers[0]?.securityContext;
    if (hardened) {
      hardened.privileged = true;
      hardened.allowPrivilegeEscalation = true;
    }
    await expect(
      core.createNamespacedPod({ namespace, body: privileged, dryRun: 'All' }),
    ).rejects.toThrow(/violates PodSecurity .{0,8}restricted/);
    console.log(`runner pod under gVisor: /proc/version inside reads "${version.trim()}"`);
  });

  it('lets the pod reach NATS and nothing else: not the Kubernetes API, metadata, the node or pods', async () => {
    const api = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    const apiAddress = `${api.spec?.clusterIP}:${api.spec?.ports?.[0]?.port}`;
    // Something that answers at each address, so a refusal is the policy's and not an empty
    // address: a metadata server on 169.254.169.254:80 of the node, any service of the node
    // (a TCP server here, on every address), another pod (a control pod listening on 8080).
    const added = await addNodeAddress('169.254.169.254/32');
    const metadata = await listen(80, '169.254.169.254');
    const nodeService = await listen(0, '0.0.0.0');
    const control = await controlPod();
    try {
      const targets = {
        nats: `${nodeIp}:${natsPort}`,
        kubernetesApi: apiAddress,
        metadata: '169.254.169.254:80',
        nodeService: `${nodeIp}:${(nodeService.address() as AddressInfo).port}`,
        otherPod: `${control.ip}:8080`,
      };
      // Without the runner's NetworkPolicy, every one of them answers.
      const fromControl = await reachFrom(adminPath, control.ref, Object.values(targets));
      for (const target of Object.values(targets)) expect(fromControl[target]).toBe('connected');

      const channel = await counterChannel('network');
      await postAndTime(channel, 'wake up');
      await runningPod(channel.address);
      const fromRunner = await reachFrom(
        adminPath,
        { namespace, name: runnerName(channel.address), container: 'runner' },
        Object.values(targets),
      );
      const outcome = Object.fromEntries(
        Object.entries(targets).map(([what, target]) => [what, fromRunner[target]]),
      );
      console.log(`from the runner pod: ${JSON.stringify(outcome)}`);
      expect(outcome['nats']).toBe('connected');
      for (const what of ['kubernetesApi', 'metadata', 'nodeService', 'otherPod']) {
        expect(['ECONNREFUSED', 'timeout', 'EHOSTUNREACH']).toContain(outcome[what]);
      }
    } finally {
      metadata.close();
      nodeService.close();
      if (added) await removeNodeAddress('169.254.169.254/32');
      await core
        .deleteNamespacedPod({ name: control.ref.name, namespace, gracePeriodSeconds: 0 })
        .catch(() => undefined);
    }
  });

  it('measures the first answer with a cold pod and with a running one, and the pod memory', async () => {
    const channel = await counterChannel('timing');
    // The join started a runner; wait for it to stop idle, so the next post starts a pod.
    await postAndTime(channel, 'warm-up');
    const cold: number[] = [];
    const warm: number[] = [];
    for (let round = 0; round < 2; round++) {
      await coldPod(channel.address);
      cold.push(await postAndTime(channel, `cold ${round}`));
      warm.push(await postAndTime(channel, `warm ${round}a`));
      warm.push(await postAndTime(channel, `warm ${round}b`));
    }
    const pod = await runningPod(channel.address);
    const uid = pod.metadata?.uid ?? '';
    const inside = await nodeIn(
      adminPath,
      { namespace, name: runnerName(channel.address), container: 'runner' },
      `const fs = require('fs');
       const status = fs.readFileSync('/proc/1/status', 'utf8');
       const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
       const kb = (text, key) => Number((text.match(new RegExp(key + ':\\\\s+(\\\\d+)')) || [])[1] || 0) * 1024;
       process.stdout.write(JSON.stringify({
         vmRss: kb(status, 'VmRSS'), total: kb(meminfo, 'MemTotal'), free: kb(meminfo, 'MemFree'),
         cached: kb(meminfo, 'Cached') }));`,
    );
    const guest = JSON.parse(inside) as Record<string, number>;
    const cgroup = podCgroupMemory(uid);
    const summary = JSON.parse(
      await kubectl(adminPath, [
        'get',
        '--raw',
        `/api/v1/nodes/${pod.spec?.nodeName}/proxy/stats/summary`,
      ]),
    ) as {
      pods: {
        podRef: { uid: string };
        memory?: { workingSetBytes?: number };
        containers: { name: string; memory?: { workingSetBytes?: number } }[];
      }[];
    };
    const stats = summary.pods.find((p) => p.podRef.uid === uid);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    console.log(
      [
        `first answer, cold pod (post → reply): ${cold.join(', ')} ms`,
        `first answer, running pod: ${warm.join(', ')} ms (median ${median(warm)} ms)`,
        `runner pod memory, node's view (pod cgroup): ${
          cgroup
            ? `${MiB(cgroup.usage)} in all (peak ${MiB(cgroup.peak)}): gVisor's own processes (sentry, gofers) ${MiB(cgroup.rss)} anonymous, the sandboxed runner's memory (sentry memfd, shmem) ${MiB(cgroup.shmem)}, file cache ${MiB(cgroup.fileCache)}`
            : 'cgroup v1 memory controller not found'
        }`,
        // The pod-level figure is 0 on this node (cAdvisor does not find the pods' cgroups under
        // the kubelet's cgroupRoot); the container's comes from gVisor's shim.
        `runner pod memory, kubelet summary: container "runner" working set ${MiB(stats?.containers.find((c) => c.name === 'runner')?.memory?.workingSetBytes ?? 0)} (gVisor's own accounting, file cache included), pod ${MiB(stats?.memory?.workingSetBytes ?? 0)}`,
        `runner memory, inside gVisor: node (pid 1) VmRSS ${MiB(guest['vmRss'] ?? 0)}; sandbox MemTotal ${MiB(guest['total'] ?? 0)}, used ${MiB((guest['total'] ?? 0) - (guest['free'] ?? 0))} of which file cache ${MiB(guest['cached'] ?? 0)}`,
      ].join('\n'),
    );
    expect(cold.every((ms) => ms > 0)).toBe(true);
    expect(replies(await readAll(agent, channel.id)).map((r) => r.count)).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it('removing the bot deletes its pod, and with it its Secret and NetworkPolicy', async () => {
    const channel = await counterChannel('removed');
    await postAndTime(channel, 'hello');
    const pod = await runningPod(channel.address);
    const owned = await ownedObjects(channel.address);
    expect(owned.secrets).toHaveLength(1);
    expect(owned.policies).toHaveLength(1);
    await agent.call('update_channel', {
      channel_id: channel.id,
      ops: [{ type: 'remove_bot', bot_id: channel.address.botId }],
    });
    expect(fleet.runnerOf(channel.address)).toBeNull();
    await eventually(
      async () => {
        const now = await readPod(runnerName(channel.address));
        return now === null || now.metadata?.uid !== pod.metadata?.uid;
      },
      'the pod to be deleted',
      30_000,
    );
    // The garbage collector deletes what the pod owned.
    await eventually(
      async () => {
        const left = await ownedObjects(channel.address);
        return left.secrets.length === 0 && left.policies.length === 0;
      },
      "the pod's Secret and NetworkPolicy to be collected",
      30_000,
    );
    await post(channel.id, 'nobody listens');
    await sleep(1_000);
    expect(fleet.runnerOf(channel.address)).toBeNull();
    expect(await readPod(runnerName(channel.address))).toBeNull();
  });

  it('gives the event of a pod deleted mid-hook to the next pod, and commits its effects once', async () => {
    const channel = await counterChannel('killed mid-hook');
    await postAndTime(channel, 'warm');
    const before = await runningPod(channel.address);
    const posting = post(channel.id, 'slow');
    // The slow hook busy-waits 2.5 s: delete its pod, at once (grace 0), while it runs.
    await sleep(1_000);
    await core.deleteNamespacedPod({
      name: runnerName(channel.address),
      namespace,
      gracePeriodSeconds: 0,
    });
    await posting;
    // A new pod; the event comes back after the consumer's ack wait (hook limit + 5 s).
    await eventually(
      async () => replies(await readAll(agent, channel.id)).length === 2,
      'the redelivered hook',
      60_000,
    );
    await postAndTime(channel, 'after');
    expect(replies(await readAll(agent, channel.id))).toEqual([
      { echo: 'warm', count: 1 },
      { echo: 'slow', count: 2 },
      { echo: 'after', count: 3 },
    ]);
    const after = await readPod(runnerName(channel.address));
    expect(after?.metadata?.uid).toBeDefined();
    expect(after?.metadata?.uid).not.toBe(before.metadata?.uid);
    // The new pod has a Secret and a policy of its own; the old pod's were collected.
    await eventually(
      async () => {
        const owned = await ownedObjects(channel.address);
        return (
          owned.secrets.length === 1 &&
          owned.policies.length === 1 &&
          owned.secrets[0]?.owner === after?.metadata?.uid &&
          owned.policies[0]?.owner === after?.metadata?.uid
        );
      },
      "the old pod's Secret and policy to be collected",
      30_000,
    );
  });

  describe('with a runner image that cannot be pulled', () => {
    let broken: TestApp;
    let member: Agent;

    beforeAll(async () => {
      broken = await startApp({ BOT_K8S_IMAGE: MISSING_IMAGE });
      member = await connectAgent(broken.url, 'member');
    });

    afterAll(async () => {
      await member?.close();
      await broken?.close();
    });

    it('tells the channel with a bot:error that its runner could not start', async () => {
      const channel = await counterChannel('no image', member);
      const name = runnerName(channel.address);
      const seen = new Map<string, string>();
      const started = Date.now();
      await post(channel.id, 'anyone there?', member);
      let error: Message | undefined;
      await eventually(
        async () => {
          const pod = await readPod(name);
          const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
          if (pod?.metadata?.uid && waiting) seen.set(pod.metadata.uid, waiting);
          error = (await readAll(member, channel.id)).find((m) => m.body['type'] === 'bot:error');
          return error !== undefined;
        },
        'a bot:error',
        150_000,
      );
      console.log(
        `image that cannot be pulled: bot:error after ${Date.now() - started} ms, pods seen ${JSON.stringify([...seen.values()])}: ${JSON.stringify(error?.body)}`,
      );
      expect(error?.body['error']).toMatch(/could not start/);
      expect(replies(await readAll(member, channel.id))).toEqual([]);
    });
  });

  /** A pod with the runner image that listens on 8080 and has no NetworkPolicy of its own. */
  async function controlPod(): Promise<{
    ref: { namespace: string; name: string; container: string };
    ip: string;
  }> {
    const name = 'control';
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { app: 'control' } },
        spec: {
          runtimeClassName: 'gvisor',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 0,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'main',
              image: IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: [
                '/usr/local/bin/node',
                '-e',
                // A probe closes at once: the reset must not end the server (and the pod).
                "require('net').createServer((s) => s.on('error', () => {}).end('hi')).listen(8080)",
              ],
              // Room for a second node (the exec'd probe) beside the server.
              resources: { limits: { memory: '256Mi' }, requests: { memory: '64Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    });
    let ip = '';
    await eventually(
      async () => {
        const pod = await readPod(name);
        ip = pod?.status?.podIP ?? '';
        return Boolean(pod?.status?.containerStatuses?.[0]?.ready) && ip !== '';
      },
      'the control pod to run',
      60_000,
    );
    return { ref: { namespace, name, container: 'main' }, ip };
  }
});

/** A TCP server on `host:port` of this network namespace (the cluster's), answering "hi". */
function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    // A probe closes at once: the reset must not become an uncaught error here.
    const server = createServer((socket) => socket.on('error', () => undefined).end('hi'));
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
