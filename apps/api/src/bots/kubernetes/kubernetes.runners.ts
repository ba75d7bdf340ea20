import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, NetworkingV1Api, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { parseReport } from '#bots';
import type { RunnerExit, RunnerHandle, RunnerMechanism, RunnerReport } from '#bots';
import type { BotAddress } from '#events';
import { PodLogRefusedError, readPodLog } from './pod-log.js';
import {
  ownedByPod,
  runnerInstanceName,
  runnerName,
  runnerNetworkPolicy,
  runnerPod,
  runnerSecret,
} from './runner-objects.js';
import type { RunnerPodOptions } from './runner-objects.js';

/** How long a runner has to stop after it is asked to (its pod's grace period). */
const STOP_GRACE_SECONDS = 5;
/**
 * A killed runner's grace: the shortest that is not a forced deletion. A forced one (0) removes
 * the pod from the API at once, and with it, once the garbage collector and the policy
 * controller follow, its NetworkPolicy, while its container may still run on the node.
 */
const KILL_GRACE_SECONDS = 1;
/** How long an old pod of the same bot may take to go before a new one is started. */
const GONE_TIMEOUT_MS = 30_000;
/** How long a pod may take to run its container (scheduling, pulling the image) before it counts as failed. */
const START_TIMEOUT_MS = 120_000;
/** How long the end of a runner waits for the rest of its log (its last reports). */
const LOG_DRAIN_MS = 2_000;
/** Waiting reasons that will not go away by themselves: the runner failed to start. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
const CONTAINER = 'runner';

export interface KubernetesRunnersOptions extends RunnerPodOptions {
  /** Whether the bot's manifest lists `egress` hosts: its pod may then reach public port 443. */
  readonly hasEgress: (address: BotAddress) => Promise<boolean>;
  readonly logger: { log(message: string): void; warn(message: string): void };
}

/**
 * The `kubernetes` mechanism (issue 13, item 3): a bot's runner as a pod of its own, under gVisor
 * by default, with its credentials in a Secret and its network in a NetworkPolicy that the pod
 * owns, so both go with it. The runner's reports come on its log; its end is the pod's end (the
 * container's exit code, or the reason it never ran: an image that cannot be pulled, a bad
 * config, a pod that never got to run). RunnerFleet decides when runners start and stop, as for
 * child processes.
 *
 * Every object is created with strict field validation: a field the API server does not know (a
 * misspelt security setting) fails the start instead of being dropped.
 */
export class KubernetesRunners implements RunnerMechanism {
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly watch: Watch;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: KubernetesRunnersOptions,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.networking = kubeConfig.makeApiClient(NetworkingV1Api);
    this.watch = new Watch(kubeConfig);
  }

  async start(
    address: BotAddress,
    credentials: string,
    onReport: (report: RunnerReport) => void,
  ): Promise<RunnerHandle> {
    const { namespace } = this.options;
    const name = runnerName(address);
    // A pod left by an API process that stopped: this one takes its place.
    await this.removeAndWait(name);
    // Its Secret and policy are this pod's alone, whatever the last pod of the bot left behind.
    const own = runnerInstanceName(address, randomBytes(4).toString('hex'));
    const pod = await this.core.createNamespacedPod({
      namespace,
      body: runnerPod(address, this.options, own),
      fieldValidation: 'Strict',
    });
    const uid = pod.metadata?.uid ?? '';
    try {
      const owner = ownedByPod(pod);
      // The policy before the Secret: the container cannot start until its Secret exists.
      await this.networking.createNamespacedNetworkPolicy({
        namespace,
        body: runnerNetworkPolicy(
          address,
          this.options,
          owner,
          await this.options.hasEgress(address),
          own,
        ),
        fieldValidation: 'Strict',
      });
      await this.core.createNamespacedSecret({
        namespace,
        body: runnerSecret(address, namespace, credentials, owner, own),
        fieldValidation: 'Strict',
      });
    } catch (error) {
      // Without its policy and Secret the pod never runs: it goes, and the start failed.
      await this.remove(name, uid, 0).catch(() => undefined);
      throw error;
    }
    let killed = false;
    const exited = this.follow(pod, onReport).then(async (exit): Promise<RunnerExit> => {
      await this.remove(name, uid, 0).catch((error: unknown) =>
        this.options.logger.warn(`pod ${name} could not be deleted: ${String(error)}`),
      );
      // Asked to die: however its container ended (TERM first, then KILL), it did not stop.
      return killed ? { code: null, signal: 'Killed' } : exit;
    });
    return {
      id: name,
      exited,
      stop: async () => {
        await this.remove(name, uid, STOP_GRACE_SECONDS);
        await exited;
      },
      kill: () => {
        killed = true;
        this.remove(name, uid, KILL_GRACE_SECONDS).catch((error: unknown) =>
          this.options.logger.warn(`pod ${name} could not be deleted: ${String(error)}`),
        );
      },
    };
  }

  /**
   * Watches the pod until it ends; streams its log into reports once its container runs, and
   * reads the rest of it before saying the pod ended. A pod stuck before running (its image
   * cannot be pulled, it cannot be scheduled) counts as ended, with the reason.
   *
   * The watch resumes from the last version seen: a pod deleted while the watch was down (the
   * client ends a watch after 30 s without news) is then still seen to go, as DELETED, or as
   * missing when that version is too old to resume from (410) and the pod is read afresh.
   */
  private follow(created: V1Pod, onReport: (report: RunnerReport) => void): Promise<RunnerExit> {
    const { namespace } = this.options;
    const name = created.metadata?.name ?? '';
    const uid = created.metadata?.uid;
    return new Promise<RunnerExit>((resolve) => {
      let done = false;
      // Set by callbacks while this one awaits: read through a function, not narrowed away.
      const over = (): boolean => done;
      let resourceVersion = created.metadata?.resourceVersion;
      let watching: AbortController | null = null;
      let log: { ended: Promise<void>; stop: () => void } | null = null;
      let latest: V1Pod = created;
      const startTimer = setTimeout(() => finish(notStarted(latest)), START_TIMEOUT_MS);
      startTimer.unref();
      const finish = (exit: RunnerExit): void => {
        if (done) return;
        done = true;
        clearTimeout(startTimer);
        watching?.abort();
        // A container that ended before its log was followed: read what it wrote, once.
        if (!log && exit.code !== null) log = this.stream(name, onReport, false);
        const drained = log?.ended ?? Promise.resolve();
        void Promise.race([drained, sleep(LOG_DRAIN_MS)]).then(() => {
          log?.stop();
          resolve(exit);
        });
      };
      const seen = (pod: V1Pod): void => {
        latest = pod;
        const exit = podExit(pod);
        if (exit) {
          finish(exit);
          return;
        }
        if (pod.status?.containerStatuses?.[0]?.state?.running && !log) {
          clearTimeout(startTimer);
          log = this.stream(name, onReport, true, () => done);
        }
      };
      const gone: RunnerExit = { code: null, signal: 'Deleted' };
      const watchAgain = async (): Promise<void> => {
        if (over()) return;
        try {
          if (!resourceVersion) {
            const pod = await this.readPod(name);
            if (!pod || pod.metadata?.uid !== uid) {
              finish(gone);
              return;
            }
            seen(pod);
            if (over()) return;
            resourceVersion = pod.metadata?.resourceVersion;
          }
          watching = await this.watch.watch(
            `/api/v1/namespaces/${namespace}/pods`,
            { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: true },
            (type: string, pod: V1Pod) => {
              // 410 Gone: that version is too old to resume from; read the pod afresh.
              if (type === 'ERROR') {
                resourceVersion = undefined;
                return;
              }
              resourceVersion = pod.metadata?.resourceVersion ?? resourceVersion;
              if (type === 'BOOKMARK' || pod.metadata?.uid !== uid) return;
              if (type === 'DELETED') finish(gone);
              else seen(pod);
            },
            (error: unknown) => {
              if (over()) return;
              if (error instanceof Error && error.name !== 'TimeoutError') {
                this.options.logger.warn(`watching pod ${name} failed: ${error.message}`);
              }
              setTimeout(() => void watchAgain(), 500).unref();
            },
          );
          if (over()) watching.abort();
        } catch (error) {
          this.options.logger.warn(`watching pod ${name} failed: ${String(error)}`);
          setTimeout(() => void watchAgain(), 1_000).unref();
        }
      };
      void watchAgain();
    });
  }

  /**
   * The runner's log, line by line: reports to the fleet, anything else to the API's log. When
   * following, a log cut off while the pod runs (the API server restarted) is opened again from
   * the second of its last line, and lines already read are skipped by their time.
   */
  private stream(
    name: string,
    onReport: (report: RunnerReport) => void,
    follow: boolean,
    ended: () => boolean = () => true,
  ): { ended: Promise<void>; stop: () => void } {
    let last: string | null = null;
    let sinceTime: string | undefined;
    let stopped = false;
    // Set by stop() while run() awaits: read through a function, not narrowed away.
    const halted = (): boolean => stopped;
    let stopReader: (() => void) | null = null;
    // The container has ended (400) or the pod is gone (404): there is no more log to wait for.
    let over = false;
    const line = (raw: string): void => {
      const space = raw.indexOf(' ');
      const time = raw.slice(0, space);
      const key = timeKey(time);
      if (last !== null && key <= last) return;
      last = key;
      sinceTime = time.replace(/\.\d+/, '');
      const text = raw.slice(space + 1);
      const report = parseReport(text);
      if (report) onReport(report);
      else this.options.logger.log(`runner ${name}: ${text.slice(0, 2048)}`);
    };
    const run = async (): Promise<void> => {
      for (;;) {
        try {
          const reader = await readPodLog(
            this.kubeConfig,
            {
              namespace: this.options.namespace,
              pod: name,
              container: CONTAINER,
              follow,
              timestamps: true,
              ...(sinceTime ? { sinceTime } : {}),
            },
            line,
            (error) => {
              if (error instanceof PodLogRefusedError && [400, 404].includes(error.status)) {
                over = true;
              } else {
                this.options.logger.warn(`the log of pod ${name} broke off: ${error.message}`);
              }
            },
          );
          stopReader = () => reader.stop();
          if (halted()) reader.stop();
          await reader.ended;
        } catch (error) {
          this.options.logger.warn(`the log of pod ${name} could not be read: ${String(error)}`);
        }
        if (!follow || over || halted() || ended()) return;
        await sleep(500);
        if (halted() || ended()) return;
      }
    };
    return {
      ended: run(),
      stop: () => {
        stopped = true;
        stopReader?.();
      },
    };
  }

  private async readPod(name: string): Promise<V1Pod | null> {
    try {
      return await this.core.readNamespacedPod({ name, namespace: this.options.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return null;
      throw error;
    }
  }

  /** Stops a pod of that name if there is one (left by an earlier process), and waits until it is gone. */
  private async removeAndWait(name: string): Promise<void> {
    await this.remove(name, null, STOP_GRACE_SECONDS);
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if ((await this.readPod(name)) === null) return;
      await sleep(250);
    }
    throw new Error(`pod ${name} was still there ${GONE_TIMEOUT_MS} ms after it was deleted`);
  }

  /**
   * Deletes the pod (its Secret and policy follow); only the one with that uid, when given, so a
   * later pod of the same name is never hit. Nothing to do if it is gone already.
   */
  private async remove(
    name: string,
    uid: string | null,
    gracePeriodSeconds: number,
  ): Promise<void> {
    try {
      // All in the body: the API server reads the query's options only when there is none.
      await this.core.deleteNamespacedPod({
        name,
        namespace: this.options.namespace,
        body: {
          gracePeriodSeconds,
          propagationPolicy: 'Background',
          ...(uid ? { preconditions: { uid } } : {}),
        },
      });
    } catch (error) {
      // 404: gone; 409: the name belongs to another pod now, so this one is gone too.
      if (error instanceof ApiException && (error.code === 404 || error.code === 409)) return;
      throw error;
    }
  }
}

/**
 * How the pod ended, or null while it runs or starts: its container's exit code, or the reason it
 * never ran (an image that cannot be pulled, a bad config), which will not go away by itself.
 */
function podExit(pod: V1Pod): RunnerExit | null {
  const state = pod.status?.containerStatuses?.[0]?.state;
  if (state?.terminated) {
    return { code: state.terminated.exitCode, signal: state.terminated.reason ?? null };
  }
  const waiting = state?.waiting?.reason;
  if (waiting && STUCK.has(waiting)) return { code: null, signal: waiting, neverRan: true };
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return { code: null, signal: pod.status?.reason ?? phase, neverRan: !state?.running };
  }
  return null;
}

/** A pod whose container did not run in time: why, as far as the pod says. */
function notStarted(pod: V1Pod): RunnerExit {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
  const reason =
    scheduled?.status === 'False' ? (scheduled.reason ?? 'Unschedulable') : (waiting ?? 'Pending');
  return {
    code: null,
    signal: `${reason}, not running after ${START_TIMEOUT_MS / 1000} s`,
    neverRan: true,
  };
}

/**
 * A log line's time (RFC 3339 with nanoseconds, as the kubelet writes them) in a form that sorts
 * as text, whether or not trailing zeros were cut.
 */
function timeKey(time: string): string {
  const parts = /^([^.]+?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  return parts ? `${parts[1]}.${(parts[2] ?? '').padEnd(9, '0')}${parts[3]}` : time;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
