import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { BotId, ChannelId, TenantId } from '#core';
import type { BotAddress } from '#events';
import {
  CREDENTIALS_DIR,
  LABELS,
  RUNNER_UID,
  ownedByPod,
  runnerInstanceName,
  runnerLabels,
  runnerName,
  runnerNetworkPolicy,
  runnerPod,
  runnerSecret,
} from './runner-objects.js';
import type { RunnerPodOptions } from './runner-objects.js';

// Channel ids may end in "-" or "_" and bot ids hold "_" and capitals: not all are label values.
const address: BotAddress = {
  tenantId: 'ten_default' as TenantId,
  channelId: 'chn_abcdefghij-' as ChannelId,
  botId: 'bot_GuessBot_0' as BotId,
};

const options: RunnerPodOptions = {
  namespace: 'mp-bots',
  image: 'mcp-multiplayer/bot-runner:0.1.0',
  runtimeClassName: 'gvisor',
  cpu: { request: '50m', limit: '500m' },
  memoryMb: 192,
  workspaceBytes: 4 * 1024 * 1024,
  runner: {
    natsUrl: 'nats://nats.mp-system.svc:4222',
    memoryMb: 64,
    hookTimeoutMs: 5000,
    outputMaxBytes: 262144,
    idleSeconds: 300,
    egress: { timeoutMs: 5000, maxBytes: 1048576, allowLoopback: false },
  },
  nats: {
    peers: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mp-system' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } },
      },
    ],
    port: 4222,
  },
  dns: {
    peers: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ],
  },
};

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/;

function container(pod: V1Pod): V1Container {
  const [first] = pod.spec?.containers ?? [];
  if (!first) throw new Error('no container');
  return first;
}

/** The objects the kubernetes launcher creates, checked as data (the cluster checks them in e2e). */
describe('runner pod objects', () => {
  const pod = runnerPod(address, options);

  it('names and labels every object validly, whatever characters the ids hold', () => {
    expect(runnerName(address)).toMatch(DNS_1123_LABEL);
    for (const value of Object.values(runnerLabels(address))) expect(value).toMatch(LABEL_VALUE);
    expect(pod.metadata?.labels?.[LABELS.tenant]).toBe('ten_default');
    expect(pod.metadata?.labels?.[LABELS.bot]).toBe('bot_GuessBot_0');
    expect(pod.metadata?.labels?.[LABELS.channel]).toMatch(/^h-[0-9a-f]{20}$/);
    const other = runnerName({ ...address, botId: 'bot_GuessBot_1' as BotId });
    expect(other).not.toBe(runnerName(address));
  });

  it('meets Pod Security restricted', () => {
    const spec = pod.spec;
    expect(spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: RUNNER_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(pod).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: RUNNER_UID,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec?.hostNetwork).toBeUndefined();
    expect(spec?.hostPID).toBeUndefined();
    for (const volume of spec?.volumes ?? []) {
      expect(volume.hostPath).toBeUndefined();
    }
  });

  it('runs under gVisor with no API token, no service links, and no restarts in place', () => {
    expect(pod.spec).toMatchObject({
      runtimeClassName: 'gvisor',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Never',
    });
    expect(runnerPod(address, { ...options, runtimeClassName: null }).spec).not.toHaveProperty(
      'runtimeClassName',
    );
  });

  it('writes only to memory-backed volumes it is limited by', () => {
    expect(pod.spec?.volumes).toEqual(
      expect.arrayContaining([
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        { name: 'workspace', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } },
      ]),
    );
    // The isolate's runner (192 MiB), the workspace (4 MiB) and /tmp (16 MiB).
    expect(container(pod).resources).toEqual({
      requests: { cpu: '50m', memory: '212Mi' },
      limits: { cpu: '500m', memory: '212Mi' },
    });
    const without = runnerPod(address, { ...options, workspaceBytes: 0 });
    expect(without.spec?.volumes?.map((volume) => volume.name)).toEqual(['credentials', 'tmp']);
    expect(container(without).env?.map((e) => e.name)).not.toContain('RUNNER_WORKSPACE');
  });

  it('takes its credentials from a mounted Secret the pod owns, never from the environment', () => {
    const env = Object.fromEntries((container(pod).env ?? []).map((e) => [e.name, e.value]));
    expect(env['RUNNER_CREDENTIALS_FILE']).toBe(`${CREDENTIALS_DIR}/nats.creds`);
    expect(env).toMatchObject({
      RUNNER_TENANT: 'ten_default',
      RUNNER_CHANNEL: 'chn_abcdefghij-',
      RUNNER_BOT: 'bot_GuessBot_0',
      RUNNER_NATS_URL: 'nats://nats.mp-system.svc:4222',
    });
    const credentials = '-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1Qi.user-7f3a\n';
    expect(JSON.stringify(pod)).not.toContain('user-7f3a');
    const owner = ownedByPod({ metadata: { name: runnerName(address), uid: 'uid-1' } });
    const secret = runnerSecret(address, 'mp-bots', credentials, owner);
    expect(secret.metadata?.name).toBe(pod.spec?.volumes?.[0]?.secret?.secretName);
    expect(secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: runnerName(address), uid: 'uid-1' },
    ]);
    expect(secret.stringData).toEqual({ 'nats.creds': credentials });
  });

  it('lets nothing in, and out only NATS and DNS; public 443 only for a bot with egress', () => {
    const owner = ownedByPod({ metadata: { name: runnerName(address), uid: 'uid-1' } });
    const closed = runnerNetworkPolicy(address, options, owner, false);
    expect(closed.spec?.podSelector).toEqual({
      matchLabels: { [LABELS.key]: runnerLabels(address)[LABELS.key] },
    });
    expect(closed.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(closed.spec?.ingress).toEqual([]);
    expect(closed.spec?.egress?.map((rule) => rule.ports?.map((p) => p.port))).toEqual([
      [4222],
      [53, 53],
    ]);
    const open = runnerNetworkPolicy(address, options, owner, true);
    const web = open.spec?.egress?.[2];
    expect(web?.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    expect(web?.to?.[0]?.ipBlock?.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16', '127.0.0.0/8']),
    );
    expect(web?.to?.[1]?.ipBlock?.except).toEqual(expect.arrayContaining(['fc00::/7']));
  });

  it("gives each pod a Secret and a policy of its own name, so a new pod never meets the last one's", () => {
    const own = runnerInstanceName(address, '0a1b2c3d');
    expect(own).toBe(`${runnerName(address)}-0a1b2c3d`);
    expect(own).toMatch(DNS_1123_LABEL);
    const mine = runnerPod(address, options, own);
    expect(mine.metadata?.name).toBe(runnerName(address));
    expect(mine.spec?.volumes?.[0]?.secret?.secretName).toBe(own);
    const owner = ownedByPod({ metadata: { name: runnerName(address), uid: 'uid-2' } });
    expect(runnerSecret(address, 'mp-bots', 'creds', owner, own).metadata?.name).toBe(own);
    expect(runnerNetworkPolicy(address, options, owner, false, own).metadata?.name).toBe(own);
  });
});
