import { ApiException, CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { RunnerOwnership } from '#bots';
import type { BotAddress } from '#events';
import { runnerLabels, runnerName } from './runner-objects.js';

export interface RunnerLeaseOptions {
  readonly namespace: string;
  /** This API replica, as leases name their holder (its pod name, or host and process id). */
  readonly identity: string;
  /** How long a claim lasts unless renewed; renewed every third of it. */
  readonly durationSeconds: number;
  readonly logger: { warn(message: string): void };
}

/** What to do about a bot's lease, for `me` at `now`. */
export type LeaseDecision =
  | { readonly kind: 'create' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'take' }
  | { readonly kind: 'wait'; readonly until: number };

/**
 * The lease of a bot: none yet (create it), this replica's (renew it), free or run out (take
 * it), or another live replica's (wait until it runs out).
 */
export function leaseDecision(lease: V1Lease | null, me: string, now: number): LeaseDecision {
  if (!lease) return { kind: 'create' };
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === me) return { kind: 'renew' };
  const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
  const until = renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  if (holder === '' || until <= now) return { kind: 'take' };
  return { kind: 'wait', until };
}

/**
 * Which API replica runs which bot's pod (issue 13, item 3): one coordination.k8s.io Lease per
 * bot, named like its pod, held while this replica's runner of the bot runs and renewed every
 * third of its duration. Updates carry the lease's resourceVersion, so of two replicas taking
 * one lease at once, one fails with a conflict and waits: two replicas never run two pods for
 * one bot. A replica that dies stops renewing, and its leases run out.
 */
export class RunnerLeases implements RunnerOwnership {
  private readonly api: CoordinationV1Api;
  /** Leases this replica holds, by name, with the bot they are for. */
  private readonly held = new Map<string, BotAddress>();
  private readonly renewal: NodeJS.Timeout;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: RunnerLeaseOptions,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.renewal = setInterval(() => void this.renewAll(), (options.durationSeconds * 1000) / 3);
    this.renewal.unref();
  }

  async claim(address: BotAddress): Promise<{ ok: true } | { ok: false; retryAt: number }> {
    const name = runnerName(address);
    const lease = await this.read(name);
    const decision = leaseDecision(lease, this.options.identity, Date.now());
    if (decision.kind === 'wait') return { ok: false, retryAt: decision.until };
    try {
      if (decision.kind === 'create') {
        await this.api.createNamespacedLease({
          namespace: this.options.namespace,
          body: this.lease(address, null),
        });
      } else {
        await this.api.replaceNamespacedLease({
          name,
          namespace: this.options.namespace,
          body: this.lease(address, lease),
        });
      }
    } catch (error) {
      // Another replica created or took it first: it runs the bot.
      if (error instanceof ApiException && (error.code === 409 || error.code === 422)) {
        return { ok: false, retryAt: Date.now() + this.options.durationSeconds * 1000 };
      }
      throw error;
    }
    this.held.set(name, address);
    return { ok: true };
  }

  async release(address: BotAddress): Promise<void> {
    const name = runnerName(address);
    if (!this.held.delete(name)) return;
    const lease = await this.read(name);
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    // Free for the next claim at once, rather than when it would have run out.
    await this.api
      .replaceNamespacedLease({
        name,
        namespace: this.options.namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: lease.spec.leaseDurationSeconds,
            leaseTransitions: lease.spec.leaseTransitions,
          },
        },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      });
  }

  async close(): Promise<void> {
    clearInterval(this.renewal);
    await Promise.all(
      [...this.held.values()].map((address) => this.release(address).catch(() => undefined)),
    );
  }

  /** Renews every lease this replica holds; one it lost is dropped, with a warning. */
  private async renewAll(): Promise<void> {
    for (const [name, address] of this.held) {
      try {
        const lease = await this.read(name);
        if (lease?.spec?.holderIdentity !== this.options.identity) {
          this.held.delete(name);
          this.options.logger.warn(
            `lease ${name} of ${address.botId} was taken by another replica`,
          );
          continue;
        }
        await this.api.replaceNamespacedLease({
          name,
          namespace: this.options.namespace,
          body: this.lease(address, lease),
        });
      } catch (error) {
        this.options.logger.warn(`lease ${name} could not be renewed: ${String(error)}`);
      }
    }
  }

  /** The lease held by this replica from now: a new one, or `current` taken or renewed. */
  private lease(address: BotAddress, current: V1Lease | null): V1Lease {
    const now = new V1MicroTime(Date.now());
    const mine = current?.spec?.holderIdentity === this.options.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: current?.metadata ?? {
        name: runnerName(address),
        namespace: this.options.namespace,
        labels: runnerLabels(address),
      },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: this.options.durationSeconds,
        acquireTime: mine ? current.spec?.acquireTime : now,
        renewTime: now,
        leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (mine || !current ? 0 : 1),
      },
    };
  }

  private async read(name: string): Promise<V1Lease | null> {
    try {
      return await this.api.readNamespacedLease({ name, namespace: this.options.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return null;
      throw error;
    }
  }
}
