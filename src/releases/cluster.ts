// The release controller's cluster for plain Kubernetes, over the audited executor host: every read
// and write is a `kubernetes.*` executor action with its audit records, never the Kubernetes client
// directly. The canary is `<stable>-canary` next to the service's first Deployment; readiness is
// judged by the same rollout rules as `rollout-status` (`kubernetes.rollout-check`).
import { formatDuration, parseDuration } from '../core/duration.js';
import { ErrorCode, isMillwrightError, MillwrightError } from '../core/errors.js';
import type { ExecutorHost } from '../executors/host.js';
import type { ReleasesConfig } from './config.js';
import {
  type ReleaseCluster,
  type ReleaseRecord,
  ReleaseRolloutFailed,
  ReleaseStableChanged,
} from './controller.js';
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

/** What the stable runs as a release starts from it. */
export interface StableLook {
  replicas: number;
  image: string;
  /** An Argo Rollout's own steps (the shares it pauses at, then 100): its release takes exactly these. */
  steps?: number[];
}

/** The release's reads before it has a record: who asked, for which service. */
export type ReleaseProbe = Pick<ReleaseRecord, 'id' | 'service' | 'requester' | 'channel'>;

/** One step of a dry run: the canary's pods for the share, and the share they reach. */
export interface DryRunStep {
  share: number;
  canaryReplicas: number;
  reached: number;
}

/**
 * How releases reach one kind of workload: the controller's port, plus what `release start` reads
 * first. `ExecutorCluster` runs a canary Deployment next to the stable one; `ArgoCluster` drives an
 * Argo Rollout's own canary steps.
 */
export interface ReleaseDriver extends ReleaseCluster {
  lookAtStable(release: ReleaseProbe): Promise<StableLook>;
  /** What each step would do, and the API server's check of the first write (nothing changes). */
  dryRun(
    release: ReleaseProbe & { image: string },
    steps: readonly number[],
    stable: StableLook,
  ): Promise<{ steps: DryRunStep[]; check: string }>;
}

/**
 * One audited executor call for a release: `kubernetes.ACTION` with the workload's fields, as the
 * scheduler on the release's channel, its origin naming the release and why.
 */
export function invokeForRelease(
  executors: ExecutorHost,
  release: ReleaseProbe,
  call: { action: string; input: Record<string, unknown>; why: string; dryRun?: boolean; timeoutMs?: number },
) {
  return executors.invoke({
    uses: `kubernetes.${call.action}`,
    input: call.input,
    dryRun: call.dryRun === true,
    actor: 'millwright',
    surface: 'scheduler',
    channel: release.channel ?? 'scheduler',
    ref: release.id,
    timeoutMs: call.timeoutMs ?? 60_000,
    origin: `release ${release.id} of ${release.service} for ${release.requester}: ${call.why}`,
  });
}

/**
 * @example
 * const cluster = new ExecutorCluster({ executors, config, targetOf: (service) => ({ namespace: 'shop', deployment: service }) });
 * await cluster.setCanary(release, 25); // { share: 23.1 }
 */
export class ExecutorCluster implements ReleaseDriver {
  constructor(private readonly options: ExecutorClusterOptions) {}

  /** The stable's replicas and image now, as the release starts from them. */
  async lookAtStable(release: ReleaseProbe): Promise<StableLook> {
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

  /** The canary pods each step would get; the API server checks the canary the first would create. */
  async dryRun(
    release: ReleaseProbe & { image: string },
    steps: readonly number[],
    stable: StableLook,
  ): Promise<{ steps: DryRunStep[]; check: string }> {
    const plan = steps.map((share) => {
      if (share >= 100) return { share, canaryReplicas: 0, reached: 100 };
      const { canary, share: reached } = canaryReplicas(stable.replicas, share);
      return { share, canaryReplicas: canary, reached };
    });
    const first = plan.find((step) => step.share < 100);
    const check = first
      ? (
          await this.#invoke(
            release,
            'canary-set',
            {
              image: release.image,
              replicas: first.canaryReplicas,
              trackLabel: this.options.config.trackLabel,
            },
            'dry run of the first step',
            true,
          )
        ).summary
      : 'a single step of 100% promotes at once; nothing to check';
    return { steps: plan, check };
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
    // Never write the new image over a deploy someone made during the release.
    const changed = await this.stableChanged(release);
    if (changed) throw new ReleaseStableChanged(changed);
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

  /** Puts the stable image back only over the release's own image: a hotfix deployed meanwhile stays. */
  async restoreStable(release: ReleaseRecord): Promise<void> {
    if (release.stableImage && (await this.lookAtStable(release)).image === release.image)
      await this.#invoke(release, 'set-image', { image: release.stableImage }, 'the stable image goes back');
    await this.removeCanary(release);
  }

  async stableChanged(release: ReleaseRecord): Promise<string | undefined> {
    const { image } = await this.lookAtStable(release);
    return release.stableImage && image !== release.stableImage && image !== release.image
      ? image
      : undefined;
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
    release: ReleaseProbe,
    action: string,
    input: Record<string, unknown>,
    why: string,
    dryRun = false,
    timeoutMs = 60_000,
    deployment?: string,
  ) {
    const target = this.options.targetOf(release.service);
    return invokeForRelease(this.options.executors, release, {
      action,
      input: { namespace: target.namespace, deployment: deployment ?? target.deployment, ...input },
      why,
      dryRun,
      timeoutMs,
    });
  }
}
