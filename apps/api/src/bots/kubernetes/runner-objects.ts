import { createHash } from 'node:crypto';
import type {
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1OwnerReference,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import { RUNNER_HEAP_MB, runnerEnvironmentOf } from '#bots';
import type { RunnerSettings } from '#bots';
import type { BotAddress } from '#events';

/** Where the Secret with the runner's NATS credentials is mounted in its pod. */
export const CREDENTIALS_DIR = '/var/run/mcp-multiplayer';
const CREDENTIALS_KEY = 'nats.creds';
/** The workspace tmpfs and the runner's own /tmp, the only writable paths of the pod. */
const WORKSPACE_DIR = '/workspace';
const TMP_DIR = '/tmp';
const TMP_MB = 16;
/** The runner image's user (bots/runtime-image): numeric, so the kubelet can check it is not root. */
export const RUNNER_UID = 65532;

/** Labels every runner pod, Secret and NetworkPolicy carries (and the launcher selects on). */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  tenant: 'mcp-multiplayer.dev/tenant',
  channel: 'mcp-multiplayer.dev/channel',
  bot: 'mcp-multiplayer.dev/bot',
  /** A hash of tenant, channel and bot: one value that names the bot, always a valid label. */
  key: 'mcp-multiplayer.dev/bot-key',
} as const;
const MANAGED_BY = 'mcp-multiplayer';
const COMPONENT = 'bot-runner';

/** How runner pods are made: the image, the sandbox, the limits, and how to reach NATS. */
export interface RunnerPodOptions {
  readonly namespace: string;
  readonly image: string;
  /** The RuntimeClass of the pods (gVisor's, `gvisor`, by default); null: the cluster's default. */
  readonly runtimeClassName: string | null;
  readonly cpu: { readonly request: string; readonly limit: string };
  readonly memoryMb: number;
  /** Size of the workspace tmpfs; 0: none. It counts towards the pod's memory. */
  readonly workspaceBytes: number;
  /** The runner's settings but its address and the credentials' path, which are per pod. */
  readonly runner: Omit<RunnerSettings, 'address' | 'credentialsFile' | 'workspace'>;
  /** Who may be reached for NATS (a namespace and pod selector, or an address block) and on which port. */
  readonly nats: { readonly peers: readonly V1NetworkPolicyPeer[]; readonly port: number };
  /** Who answers the pods' DNS (port 53): the cluster's DNS pods, or a node-local resolver. */
  readonly dns: { readonly peers: readonly V1NetworkPolicyPeer[] };
}

/** The bot's pod name: `mp-bot-` and a hash, as bot ids hold characters names may not. */
export function runnerName(address: BotAddress): string {
  return `mp-bot-${keyOf(address)}`;
}

/**
 * The name of one pod's Secret and NetworkPolicy: the pod's name and `instance`, a value new for
 * each pod. The pod's name is the bot's, but a pod that just went leaves its Secret and policy to
 * the garbage collector for a while: under the same name, the next pod would mount the old
 * Secret and start before its own policy exists, and creating its own would fail (409).
 */
export function runnerInstanceName(address: BotAddress, instance: string): string {
  return `${runnerName(address)}-${instance}`;
}

/** The labels of one bot's objects; ids that are not valid label values appear as hashes. */
export function runnerLabels(address: BotAddress): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: COMPONENT,
    [LABELS.tenant]: labelValue(address.tenantId),
    [LABELS.channel]: labelValue(address.channelId),
    [LABELS.bot]: labelValue(address.botId),
    [LABELS.key]: keyOf(address),
  };
}

/**
 * One bot's runner pod, admitted by Pod Security `restricted`: a numeric non-root user, no
 * privilege escalation, every capability dropped, the runtime's default seccomp profile, a
 * read-only root with a memory-backed workspace and /tmp, no service account token, no service
 * links. It runs under gVisor when its RuntimeClass says so, and never restarts in place: the
 * launcher decides about restarts (backoff, poison events).
 */
export function runnerPod(
  address: BotAddress,
  options: RunnerPodOptions,
  /** The Secret with its credentials (runnerSecret's name). */
  secretName: string = runnerName(address),
): V1Pod {
  const workspace =
    options.workspaceBytes > 0 ? { path: WORKSPACE_DIR, maxBytes: options.workspaceBytes } : null;
  const env = runnerEnvironmentOf({
    ...options.runner,
    address,
    workspace,
    credentialsFile: `${CREDENTIALS_DIR}/${CREDENTIALS_KEY}`,
  });
  const workspaceMb = Math.ceil(options.workspaceBytes / (1024 * 1024));
  // Memory-backed volumes count towards the container's memory.
  const memory = `${options.memoryMb + workspaceMb + TMP_MB}Mi`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: runnerName(address),
      namespace: options.namespace,
      labels: runnerLabels(address),
      annotations: {
        'mcp-multiplayer.dev/address': `${address.tenantId}/${address.channelId}/${address.botId}`,
      },
    },
    spec: {
      ...(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {}),
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUNNER_UID,
        runAsGroup: RUNNER_UID,
        fsGroup: RUNNER_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'runner',
          image: options.image,
          imagePullPolicy: 'IfNotPresent',
          env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            // The image's entrypoint names the bundle; the heap cap comes as an option.
            { name: 'NODE_OPTIONS', value: `--max-old-space-size=${RUNNER_HEAP_MB}` },
          ],
          resources: {
            requests: { cpu: options.cpu.request, memory },
            limits: { cpu: options.cpu.limit, memory },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: RUNNER_UID,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
            { name: 'tmp', mountPath: TMP_DIR },
            ...(workspace ? [{ name: 'workspace', mountPath: WORKSPACE_DIR }] : []),
          ],
        },
      ],
      volumes: [
        {
          name: 'credentials',
          secret: { secretName, defaultMode: 0o400, optional: false },
        },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: `${TMP_MB}Mi` } },
        ...(workspace
          ? [{ name: 'workspace', emptyDir: { medium: 'Memory', sizeLimit: `${workspaceMb}Mi` } }]
          : []),
      ],
    },
  };
}

/**
 * The runner's NATS credentials, good for its one bot (ADR 0006), as a Secret the pod owns: it is
 * deleted with the pod. Credentials never go in the pod's environment.
 */
export function runnerSecret(
  address: BotAddress,
  namespace: string,
  credentials: string,
  owner: V1OwnerReference,
  name: string = runnerName(address),
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace,
      labels: runnerLabels(address),
      ownerReferences: [owner],
    },
    immutable: true,
    stringData: { [CREDENTIALS_KEY]: credentials },
  };
}

/** Address blocks a bot's `ctx.fetch` may never reach, whatever its allowlist says. */
const PRIVATE_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
];
const PRIVATE_V6 = ['::1/128', 'fc00::/7', 'fe80::/10'];

/**
 * What one runner pod may reach: nothing comes in; out, NATS and DNS only, and TCP 443 to public
 * addresses when the bot's manifest lists `egress` (the runner still checks host names; this
 * keeps a compromised runner off the cluster's private addresses, the Kubernetes API and the
 * cloud metadata address). Owned by the pod, so it goes with it.
 */
export function runnerNetworkPolicy(
  address: BotAddress,
  options: Pick<RunnerPodOptions, 'namespace' | 'nats' | 'dns'>,
  owner: V1OwnerReference,
  egress: boolean,
  name: string = runnerName(address),
): V1NetworkPolicy {
  const dns = {
    to: [...options.dns.peers],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  const nats = {
    to: [...options.nats.peers],
    ports: [{ protocol: 'TCP', port: options.nats.port }],
  };
  const web = {
    to: [
      { ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_V4 } },
      { ipBlock: { cidr: '::/0', except: PRIVATE_V6 } },
    ],
    ports: [{ protocol: 'TCP', port: 443 }],
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      namespace: options.namespace,
      labels: runnerLabels(address),
      ownerReferences: [owner],
    },
    spec: {
      podSelector: { matchLabels: { [LABELS.key]: keyOf(address) } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: egress ? [nats, dns, web] : [nats, dns],
    },
  };
}

/** The reference that makes an object go with the pod (garbage collection). */
export function ownedByPod(pod: V1Pod): V1OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  };
}

/** A label value (at most 63 of letters, digits, `-_.`, starting and ending alphanumeric) or its hash. */
function labelValue(value: string): string {
  return /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(value)
    ? value
    : `h-${createHash('sha256').update(value).digest('hex').slice(0, 20)}`;
}

function keyOf(address: BotAddress): string {
  return createHash('sha256')
    .update(`${address.tenantId}/${address.channelId}/${address.botId}`)
    .digest('hex')
    .slice(0, 24);
}
