// The release controller's cluster for an Argo Rollout, over the audited executor host: the release
// sets the Rollout's image (Argo starts its canary), then promotes it from one indefinite pause to the
// next, one per Millwright step, and fully at 100%; an abort is Argo's abort followed by the template set
// back to the stable image (Argo's documented way to revert fully). Argo moves the pods; Millwright judges.
import { formatDuration, parseDuration } from '../core/duration.js';
import { ErrorCode, MillwrightError } from '../core/errors.js';
import type { ExecutorHost } from '../executors/host.js';
import { describeTroubles, type PodTrouble } from '../upstreams/kubernetes/rollout-verdict.js';
import {
  type DryRunStep,
  invokeForRelease,
  type ReleaseDriver,
  type ReleaseProbe,
  type StableLook,
} from './cluster.js';
import type { ReleasesConfig } from './config.js';
import { type ReleaseRecord, ReleaseRolloutFailed, ReleaseStableChanged } from './controller.js';

/** The kubernetes actions an Argo release runs: `millwright rbac` asks for their rights. */
export const ARGO_RELEASE_ACTIONS = ['argo-status', 'argo-set-image', 'argo-promote', 'argo-abort'] as const;

/** Where a service's release runs: its Argo Rollout (`services.NAME.kubernetes.rollout`). */
export interface ArgoTarget {
  namespace: string;
  rollout: string;
}

export interface ArgoClusterOptions {
  executors: ExecutorHost;
  config: ReleasesConfig;
  targetOf(service: string): ArgoTarget;
  /** How often a step looks again while Argo's controller moves to the next pause; default every 2 s. */
  pollIntervalMs?: number;
  /** Looks before a step gives up for this tick (the next tick carries on); default 15. */
  stepPolls?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** What `kubernetes.argo-status` says of the Rollout (its output, as far as the release reads it). */
interface ArgoLook {
  phase: string;
  message: string | null;
  outcome: 'healthy' | 'progressing' | 'paused' | 'degraded' | 'failed';
  strategy: 'canary' | 'blueGreen' | 'none';
  step: number | null;
  steps: Array<{ setWeight?: number; pause?: { duration: string | number | null }; other?: string }>;
  weight: number;
  paused: boolean;
  aborted: boolean;
  updating: boolean;
  replicas: number;
  images: Array<{ container: string; image: string }>;
  trackLabels: { canary: Record<string, string>; stable: Record<string, string> };
  troubles: PodTrouble[];
}

/**
 * The shares a Rollout pauses at, when its canary steps are what a release can drive: `setWeight`
 * steps each followed by an indefinite `pause: {}` (Millwright judges each step, then promotes), rising
 * and below 100. Anything else is refused in one line naming the step.
 *
 * @example
 * pausesOf([{ setWeight: 5 }, { pause: { duration: null } }, { setWeight: 25 }, { pause: { duration: null } }], 'checkout') // [5, 25]
 */
export function pausesOf(steps: ArgoLook['steps'], rollout: string): number[] {
  const refuse = (why: string) =>
    new MillwrightError(
      ErrorCode.PreconditionFailed,
      `rollout ${rollout} cannot be released by Millwright: ${why}`,
      {
        hint: 'give spec.strategy.canary.steps as pairs of - setWeight: N and - pause: {} (rising, below 100); Millwright judges each pause and promotes',
      },
    );
  if (steps.length === 0) throw refuse('its canary has no steps');
  const pauses: number[] = [];
  for (let i = 0; i < steps.length; i += 2) {
    const weight = steps[i]?.setWeight;
    const pause = steps[i + 1]?.pause;
    if (weight === undefined) throw refuse(`step ${i} is ${kindOf(steps[i])}, not a setWeight`);
    if (!pause)
      throw refuse(`step ${i + 1} is ${kindOf(steps[i + 1])}, not the pause: {} after setWeight ${weight}`);
    if (pause.duration !== null)
      throw refuse(
        `step ${i + 1} pauses for ${pause.duration}; a release needs pause: {} (it judges the step itself)`,
      );
    if (weight >= 100 || weight <= (pauses.at(-1) ?? 0))
      throw refuse(
        `setWeight ${weight} at step ${i} does not rise from ${pauses.at(-1) ?? 0} and stay below 100`,
      );
    pauses.push(weight);
  }
  return pauses;
}

function kindOf(step: ArgoLook['steps'][number] | undefined): string {
  if (!step) return 'missing';
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause) return step.pause.duration === null ? 'pause: {}' : `a pause of ${step.pause.duration}`;
  const kind = step.other ?? 'different';
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} step`;
}

/**
 * @example
 * const cluster = new ArgoCluster({ executors, config, targetOf: () => ({ namespace: 'shop', rollout: 'checkout' }) });
 * await cluster.setCanary(release, 25); // { share: 25 }: paused at the Rollout's setWeight 25
 */
export class ArgoCluster implements ReleaseDriver {
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ArgoClusterOptions) {
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The stable's image and pods, and the Rollout's steps; refuses a Rollout a release cannot drive. */
  async lookAtStable(release: ReleaseProbe): Promise<StableLook> {
    const look = await this.#look(release, 'reads the Rollout');
    const { rollout } = this.options.targetOf(release.service);
    if (look.strategy !== 'canary')
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `rollout ${rollout} has no canary strategy (${look.strategy === 'blueGreen' ? 'it is blue-green' : 'none'})`,
        { hint: 'Millwright drives canary Rollouts (spec.strategy.canary)' },
      );
    const pauses = pausesOf(look.steps, rollout);
    const label = this.options.config.trackLabel;
    if (look.trackLabels.canary[label] !== 'canary' || look.trackLabels.stable[label] !== 'stable')
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `rollout ${rollout} does not label its tracks' pods with ${label}: canary and ${label}: stable, so the SLO queries cannot tell them apart`,
        {
          hint: `add canaryMetadata: { labels: { ${label}: canary } } and stableMetadata: { labels: { ${label}: stable } } to spec.strategy.canary`,
        },
      );
    if (look.updating || look.aborted)
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `rollout ${rollout} is in the middle of an update (${look.phase}${look.step === null ? '' : `, step ${look.step} of ${look.steps.length}`}${look.aborted ? ', aborted' : ''})`,
        { hint: `finish or undo it first: kubectl argo rollouts get rollout ${rollout}` },
      );
    if (look.images.length !== 1)
      throw new MillwrightError(
        ErrorCode.PreconditionFailed,
        `rollout ${rollout} has ${look.images.length} containers; a release changes the image of exactly one`,
      );
    return { replicas: look.replicas, image: look.images[0]!.image, steps: [...pauses, 100] };
  }

  /** The canary pods Argo gives each setWeight (ceil of the share); the API server checks the new image. */
  async dryRun(
    release: ReleaseProbe & { image: string },
    steps: readonly number[],
    stable: StableLook,
  ): Promise<{ steps: DryRunStep[]; check: string }> {
    const plan = steps.map((share) => ({
      share,
      canaryReplicas: share >= 100 ? 0 : Math.ceil((share * stable.replicas) / 100),
      reached: share,
    }));
    const { summary } = await this.#invoke(
      release,
      'argo-set-image',
      { image: release.image },
      'dry run of the start',
      true,
    );
    return { steps: plan, check: summary };
  }

  /**
   * The Rollout paused at `share`: its image set (the first step), or promoted from the pause before.
   * A promotion is sent only from a pause below `share`, so a repeat after a restart never skips a step.
   */
  async setCanary(release: ReleaseRecord, share: number): Promise<{ share: number }> {
    const why = `step to ${share}%`;
    let look = await this.#look(release, why);
    const changed = this.#changedIn(release, look);
    if (changed) throw new ReleaseStableChanged(changed);
    if (look.images[0]?.image !== release.image) {
      await this.#invoke(
        release,
        'argo-set-image',
        { image: release.image },
        `${why}: the Rollout takes the new image`,
      );
      look = await this.#look(release, why);
    }
    const polls = this.options.stepPolls ?? 15;
    for (let poll = 0; ; poll++) {
      const failure = this.#failureIn(release, look);
      if (failure) throw new ReleaseRolloutFailed(failure);
      if (look.paused && look.weight === share) return { share };
      // Already further (someone promoted by hand): the share reached is what it has.
      if (look.weight > share) return { share: look.weight };
      if (look.paused && look.weight < share) {
        await this.#invoke(release, 'argo-promote', {}, `${why}: promoted from the pause at ${look.weight}%`);
      } else if (poll >= polls) {
        throw new MillwrightError(
          ErrorCode.Timeout,
          `rollout ${this.options.targetOf(release.service).rollout} has not reached its pause at ${share}% yet (${look.phase}, weight ${look.weight}%)`,
          { hint: 'the release looks again on its next tick' },
        );
      } else {
        await this.#sleep(this.options.pollIntervalMs ?? 2000);
      }
      look = await this.#look(release, why);
    }
  }

  /** Full promotion (every remaining step skipped), then Argo's rollout of the new stable, within promoteTimeout. */
  async promote(release: ReleaseRecord): Promise<void> {
    const why = 'promotion';
    let look = await this.#look(release, why);
    const done = (l: ArgoLook) => !l.updating && !l.aborted && l.images[0]?.image === release.image;
    if (done(look)) return;
    const changed = this.#changedIn(release, look);
    if (changed) throw new ReleaseStableChanged(changed);
    const failure = this.#failureIn(release, look);
    if (failure) throw new ReleaseRolloutFailed(failure);
    await this.#invoke(release, 'argo-promote', { full: true }, `${why}: full, to 100%`);
    const timeoutMs = parseDuration(this.options.config.promoteTimeout);
    const interval = this.options.pollIntervalMs ?? 2000;
    for (let waited = 0; ; waited += interval) {
      look = await this.#look(release, `${why}: the Rollout makes the new version stable`);
      if (done(look) && look.phase === 'Healthy') return;
      const failed = this.#failureIn(release, look);
      if (failed) throw new ReleaseRolloutFailed(`the Rollout's promotion failed: ${failed}`);
      if (waited >= timeoutMs)
        throw new ReleaseRolloutFailed(
          `the Rollout did not make the new version stable within ${formatDuration(timeoutMs)} (${look.phase}${look.message ? `: ${look.message}` : ''})`,
        );
      await this.#sleep(interval);
    }
  }

  /**
   * Argo's abort (the stable takes all traffic back), then the template set back to the stable image;
   * both only while the Rollout carries the release's image: someone else's deploy is left to go on.
   */
  async removeCanary(release: ReleaseRecord): Promise<void> {
    const look = await this.#look(release, 'the canary goes');
    if (this.#changedIn(release, look)) return;
    if (look.updating && !look.aborted)
      await this.#invoke(release, 'argo-abort', {}, 'the canary goes: Argo aborts, the stable serves');
    if (release.stableImage && look.images[0]?.image === release.image)
      await this.#invoke(
        release,
        'argo-set-image',
        { image: release.stableImage },
        'the template goes back to the stable image, so the Rollout is not left Degraded',
      );
  }

  /** A failed promotion is undone the same way: Argo never moved the stable ReplicaSet. */
  restoreStable(release: ReleaseRecord): Promise<void> {
    return this.removeCanary(release);
  }

  async canaryFailure(release: ReleaseRecord): Promise<string | undefined> {
    return this.#failureIn(release, await this.#look(release, "looks at the canary's pods"));
  }

  async stableChanged(release: ReleaseRecord): Promise<string | undefined> {
    return this.#changedIn(release, await this.#look(release, 'looks at the stable'));
  }

  /**
   * The image someone else gave the Rollout during the release: its template is neither the image the
   * release started from nor the release's own. Argo's stable ReplicaSet only ever takes an image
   * through the template, so this is also how a stable changed by hand (a hotfix, promoted) shows.
   */
  #changedIn(release: ReleaseRecord, look: ArgoLook): string | undefined {
    const image = look.images[0]?.image;
    if (!release.stableImage || !image) return undefined;
    return image !== release.stableImage && image !== release.image ? image : undefined;
  }

  #failureIn(release: ReleaseProbe, look: ArgoLook): string | undefined {
    const { rollout } = this.options.targetOf(release.service);
    if (look.outcome === 'failed')
      return `rollout ${rollout}'s canary pods are failing: ${describeTroubles(look.troubles)}`;
    if (look.aborted)
      return `rollout ${rollout} was aborted outside the release${look.message ? ` (${look.message})` : ''}`;
    if (look.phase === 'Degraded')
      return `rollout ${rollout} is Degraded${look.message ? `: ${look.message}` : ''}`;
    return undefined;
  }

  async #look(release: ReleaseProbe, why: string): Promise<ArgoLook> {
    const { output } = await this.#invoke(
      release,
      'argo-status',
      { maxRestarts: this.options.config.maxRestarts, stuckAfter: this.options.config.stuckAfter },
      `${why}: looks at the Rollout`,
    );
    return output as unknown as ArgoLook;
  }

  #invoke(
    release: ReleaseProbe,
    action: string,
    input: Record<string, unknown>,
    why: string,
    dryRun = false,
  ) {
    const target = this.options.targetOf(release.service);
    return invokeForRelease(this.options.executors, release, {
      action,
      input: { namespace: target.namespace, rollout: target.rollout, ...input },
      why,
      dryRun,
    });
  }
}
