import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { ApiException, CoreV1Api, Log, NetworkingV1Api, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { parseReport } from '#bots';
import type { RunnerExit, RunnerHandle, RunnerMechanism, RunnerReport } from '#bots';
import type { BotAddress } from '#events';
import {
  ownedByPod,
  runnerName,
  runnerNetworkPolicy,
  runnerPod,
  runnerSecret,
} from './runner-objects.js';
import type { RunnerPodOptions } from './runner-objects.js';

/** How long a runner has to stop after it is asked to (its pod's grace period). */
const STOP_GRACE_SECONDS = 5;
/** How long an old pod of the same bot may take to go before a new one is started. */
const GONE_TIMEOUT_MS = 30_000;
/** Waiting reasons that will not go away by themselves: the runner failed to start. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

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
 * config). RunnerFleet decides when runners start and stop, as for child processes.
 */
export class KubernetesRunners implements RunnerMechanism {
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly watch: Watch;
  private readonly logs: Log;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: KubernetesRunnersOptions,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.networking = kubeConfig.makeApiClient(NetworkingV1Api);
    this.watch = new Watch(kubeConfig);
    this.logs = new Log(kubeConfig);
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
    const pod = await this.core.createNamespacedPod({
      namespace,
      body: runnerPod(address, this.options),
    });
    const owner = ownedByPod(pod);
    // The policy before the Secret: the container cannot start until its Secret exists.
    await this.networking.createNamespacedNetworkPolicy({
      namespace,
      body: runnerNetworkPolicy(
        address,
        this.options,
        owner,
        await this.options.hasEgress(address),
      ),
    });
    await this.core.createNamespacedSecret({
      namespace,
      body: runnerSecret(address, namespace, credentials, owner),
    });
    const exited = this.follow(name, onReport).then(async (exit) => {
      await this.remove(name, 0).catch((error: unknown) =>
        this.options.logger.warn(`pod ${name} could not be deleted: ${String(error)}`),
      );
      return exit;
    });
    return {
      id: name,
      exited,
      stop: async () => {
        await this.remove(name, STOP_GRACE_SECONDS);
        await exited;
      },
      kill: () => {
        this.remove(name, 0).catch((error: unknown) =>
          this.options.logger.warn(`pod ${name} could not be deleted: ${String(error)}`),
        );
      },
    };
  }

  /**
   * Watches the pod until it ends; streams its log into reports once its container runs. A pod
   * stuck before running (its image cannot be pulled) counts as ended, with the reason.
   */
  private follow(name: string, onReport: (report: RunnerReport) => void): Promise<RunnerExit> {
    const { namespace } = this.options;
    return new Promise<RunnerExit>((resolve) => {
      let done = false;
      let logging = false;
      let stopWatch: AbortController | null = null;
      const finish = (exit: RunnerExit) => {
        if (done) return;
        done = true;
        stopWatch?.abort();
        resolve(exit);
      };
      const seen = (pod: V1Pod): void => {
        const exit = podExit(pod);
        if (exit) {
          finish(exit);
          return;
        }
        if (pod.status?.containerStatuses?.[0]?.state?.running && !logging) {
          logging = true;
          this.stream(name, onReport);
        }
      };
      const watchAgain = (): void => {
        if (done) return;
        this.watch
          .watch(
            `/api/v1/namespaces/${namespace}/pods`,
            { fieldSelector: `metadata.name=${name}` },
            (phase, pod: V1Pod) => {
              if (phase === 'DELETED') finish({ code: null, signal: 'Deleted' });
              else seen(pod);
            },
            // The server ends watches now and then: watch again, unless the pod has ended.
            () => setTimeout(watchAgain, 500).unref(),
          )
          .then(
            (controller) => {
              stopWatch = controller;
              if (done) controller.abort();
            },
            (error: unknown) => {
              this.options.logger.warn(`watching pod ${name} failed: ${String(error)}`);
              setTimeout(watchAgain, 1_000).unref();
            },
          );
      };
      watchAgain();
    });
  }

  /** The runner's log, line by line: reports to the fleet, anything else to the API's log. */
  private stream(name: string, onReport: (report: RunnerReport) => void): void {
    const output = new PassThrough();
    createInterface({ input: output }).on('line', (line) => {
      const report = parseReport(line);
      if (report) onReport(report);
      else this.options.logger.log(`runner ${name}: ${line.slice(0, 2048)}`);
    });
    this.logs
      .log(this.options.namespace, name, 'runner', output, { follow: true })
      .catch((error: unknown) =>
        this.options.logger.warn(`the log of pod ${name} could not be read: ${String(error)}`),
      );
  }

  /** Deletes the pod if there is one, and waits until its name is free. */
  private async removeAndWait(name: string): Promise<void> {
    await this.remove(name, 0);
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        await this.core.readNamespacedPod({ name, namespace: this.options.namespace });
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`pod ${name} was still there ${GONE_TIMEOUT_MS} ms after it was deleted`);
  }

  /** Deletes the pod (its Secret and policy follow); nothing to do if it is gone already. */
  private async remove(name: string, gracePeriodSeconds: number): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace: this.options.namespace,
        gracePeriodSeconds,
        propagationPolicy: 'Background',
      });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return;
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
  if (waiting && STUCK.has(waiting)) return { code: null, signal: waiting };
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return { code: null, signal: pod.status?.reason ?? phase };
  }
  return null;
}
