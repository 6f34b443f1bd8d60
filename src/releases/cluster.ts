// The release controller's cluster, over the audited executor host: every read and write is a
// `kubernetes.*` executor action with its audit records, never the Kubernetes client directly. The
// canary is `<stable>-canary` next to the service's first Deployment; readiness is judged by the
// same rollout rules as `rollout-status` (`kubernetes.rollout-check`).
import { formatDuration, parseDuration } from '../core/duration.js';
import { ErrorCode, isMillwrightError, MillwrightError } from '../core/errors.js';
import type { ExecutorHost } from '../executors/host.js';
import type { ReleasesConfig } from './config.js';
import { type ReleaseCluster, type ReleaseRecord, ReleaseRolloutFailed } from './controller.js';
import { canaryReplicas } from './plan.js';

/** Where a service's release runs: the stable Deployment the canary sits next to. */
export interface ReleaseTarget {
  namespace: string;
  deployment: string;
}

export interface ExecutorClusterOptions {
  executors: ExecutorHost;
  config: ReleasesConfig;
  /** The service's stable Deployment. */
  targetOf(service: string): ReleaseTarget;
}

/** What the executor's `rollout-status` (wait: false) says of a Deployment. */
export interface StableLook {
  replicas: number;
  image: string;
}

/**
 * @example
 * const cluster = new ExecutorCluster({ executors, config, targetOf: (service) => ({ namespace: 'shop', deployment: service }) });
 * await cluster.setCanary(release, 25); // { share: 23.1 }
 */
export class ExecutorCluster implements ReleaseCluster {
  constructor(private readonly options: ExecutorClusterOptions) {}

  /** The stable's replicas and image now, as the release starts from them. */
  async lookAtStable(
    release: Pick<ReleaseRecord, 'id' | 'service' | 'requester' | 'channel'>,
  ): Promise<StableLook> {
    const { output } = await this.#invoke(release, 'rollout-status', { wait: false }, 'reads the stable');
    const replicas = (output.replicas as { desired?: number } | undefined)?.desired ?? 0;
    const images = (output.images as Array<{ image: string }> | undefined) ?? [];
    if (images.length !== 1) {
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `deployment ${this.options.targetOf(release.service).deployment} has ${images.length} containers; a release changes the image of exactly one`,
      );
    }
    return { replicas, image: images[0]!.image };
  }

  /** Dry run of the first step: the API server checks the canary it would create. */
  async tryCanary(
    release: Pick<ReleaseRecord, 'id' | 'service' | 'requester' | 'channel' | 'image'>,
    replicas: number,
  ) {
    return this.#invoke(
      release,
      'canary-set',
      { image: release.image, replicas, trackLabel: this.options.config.trackLabel },
      'dry run of the first step',
      true,
    );
  }

  async setCanary(release: ReleaseRecord, share: number): Promise<{ share: number }> {
    const stable = await this.lookAtStable(release);
    const wanted = canaryReplicas(stable.replicas, share);
    await this.#invoke(
      release,
      'canary-set',
      { image: release.image, replicas: wanted.canary, trackLabel: this.options.config.trackLabel },
      `step to ${share}%`,
    );
    return { share: wanted.share };
  }

  async promote(release: ReleaseRecord): Promise<void> {
    await this.#invoke(release, 'set-image', { image: release.image }, 'promotion');
    const timeoutMs = parseDuration(this.options.config.promoteTimeout);
    try {
      await this.#invoke(
        release,
        'rollout-status',
        {
          wait: true,
          timeout: this.options.config.promoteTimeout,
          maxRestarts: this.options.config.maxRestarts,
          stuckAfter: this.options.config.stuckAfter,
        },
        'promotion: the stable rolls out the new image',
        false,
        timeoutMs + 30_000,
      );
    } catch (error) {
      if (isMillwrightError(error) && error.code === ErrorCode.RolloutFailed)
        throw new ReleaseRolloutFailed(`the stable's rollout of the new image failed: ${error.message}`);
      if (isMillwrightError(error) && error.code === ErrorCode.Timeout)
        throw new ReleaseRolloutFailed(
          `the stable did not roll out the new image within ${formatDuration(timeoutMs)}: ${error.message}`,
        );
      throw error;
    }
    await this.removeCanary(release);
  }

  async removeCanary(release: ReleaseRecord): Promise<void> {
    await this.#invoke(release, 'canary-remove', {}, 'the canary goes');
  }

  async restoreStable(release: ReleaseRecord): Promise<void> {
    if (release.stableImage)
      await this.#invoke(release, 'set-image', { image: release.stableImage }, 'the stable image goes back');
    await this.removeCanary(release);
  }

  async canaryFailure(release: ReleaseRecord): Promise<string | undefined> {
    const target = this.options.targetOf(release.service);
    const { output } = await this.#invoke(
      release,
      'rollout-check',
      {
        maxRestarts: this.options.config.maxRestarts,
        stuckAfter: this.options.config.stuckAfter,
      },
      "looks at the canary's pods",
      false,
      undefined,
      `${target.deployment}-canary`,
    );
    return output.outcome === 'failed' ? String(output.message) : undefined;
  }

  #invoke(
    release: Pick<ReleaseRecord, 'id' | 'service' | 'requester' | 'channel'>,
    action: string,
    input: Record<string, unknown>,
    why: string,
    dryRun = false,
    timeoutMs = 60_000,
    deployment?: string,
  ) {
    const target = this.options.targetOf(release.service);
    return this.options.executors.invoke({
      uses: `kubernetes.${action}`,
      input: { namespace: target.namespace, deployment: deployment ?? target.deployment, ...input },
      dryRun,
      actor: 'millwright',
      surface: 'scheduler',
      channel: release.channel ?? 'scheduler',
      ref: release.id,
      timeoutMs,
      origin: `release ${release.id} of ${release.service} for ${release.requester}: ${why}`,
    });
  }
}
