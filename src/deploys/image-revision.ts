// Which commit a running container image is: read from the image tag (a commit sha or a release
// version) or from the OCI source-revision annotation, and compared with a GitHub deployment.
import type { GitHubDeployment } from '../upstreams/github/index.js';

/** The OCI image-spec annotation for the source revision; Millwright reads it from the pod template. */
export const SOURCE_REVISION_ANNOTATION = 'org.opencontainers.image.revision';

/** An image reference split into its parts (`registry.example.com/shop/checkout:1.4.2@sha256:...`). */
export interface ImageReference {
  image: string;
  /** Everything before the tag and digest (`registry.example.com/shop/checkout`). */
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** What a running image says about the commit it was built from. */
export type RunningRevision =
  /** A commit sha (or a prefix of 7 or more hex digits) from the tag or the annotation. */
  | { kind: 'sha'; sha: string; source: 'tag' | 'annotation'; label: string }
  /** A release version (`1.4.2`, `v2.0.0-rc.1`, `2026.11.3`), matched against deployment refs. */
  | { kind: 'version'; version: string; label: string }
  /** Nothing that names a commit; `why` says what is missing, for the drift explanation. */
  | { kind: 'none'; why: string; label: string };

// 7 to 40 hex digits, optionally behind `sha-` (docker/metadata-action's default) or `git-`.
const SHA_TAG = /^(?:sha-|git-)?([0-9a-f]{7,40})$/i;
const HEX_WITH_LETTER = /[a-f]/i;
// Release versions: 1.4, 1.4.2, v1.4.2, 1.5.0-rc.1, 2026.11.3+build.7.
const VERSION = /^v?\d+(\.\d+)+([-+][0-9A-Za-z.-]+)?$/i;
const MOVING_TAGS = new Set(['latest', 'stable', 'edge', 'nightly', 'dev', 'main', 'master', 'head']);

/**
 * Splits an image reference into repository, tag and digest.
 *
 * @example
 * parseImage('registry.example.com:5000/shop/checkout:1.4.2') // { repository: 'registry.example.com:5000/shop/checkout', tag: '1.4.2', digest: null, ... }
 */
export function parseImage(image: string): ImageReference {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : null;
  const named = at >= 0 ? image.slice(0, at) : image;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  // A colon before the last slash is a registry port, not a tag.
  const hasTag = colon > slash;
  return {
    image,
    repository: hasTag ? named.slice(0, colon) : named,
    tag: hasTag ? named.slice(colon + 1) || null : null,
    digest: digest || null,
  };
}

/** The short name people use for an image's version: its tag, else a short digest, else `latest`. */
export function imageVersion(image: string): string {
  const ref = parseImage(image);
  if (ref.tag) return ref.tag;
  if (ref.digest) return `@${ref.digest.replace(/^sha256:/, '').slice(0, 12)}`;
  return 'latest';
}

/**
 * What commit an image was built from, by these rules in order:
 * 1. the pod template annotation `org.opencontainers.image.revision` (a sha, 7-40 hex digits);
 * 2. a tag of 7-40 hex digits, prefixed `sha-` or `git-` or holding at least one letter a-f (so
 *    build numbers such as 20250101 are not taken for commits): a commit sha or its prefix;
 * 3. a release version tag (`1.4.2`, `v1.4.2`): matched against the deployment's ref, `v` ignored;
 * 4. anything else (`latest`, `main`, no tag, a digest only) names no commit.
 *
 * @example
 * runningRevision('ghcr.io/acme/checkout:sha-0c1d2e3')  // { kind: 'sha', sha: '0c1d2e3', source: 'tag', ... }
 * runningRevision('ghcr.io/acme/checkout:1.4.2')        // { kind: 'version', version: '1.4.2', ... }
 */
export function runningRevision(image: string, annotation?: string | null): RunningRevision {
  const ref = parseImage(image);
  const label = imageVersion(image);
  const annotated = annotation?.trim();
  if (annotated && /^[0-9a-f]{7,40}$/i.test(annotated)) {
    const sha = annotated.toLowerCase();
    return { kind: 'sha', sha, source: 'annotation', label: `${label} (commit ${shortSha(sha)})` };
  }
  if (!ref.tag) {
    return {
      kind: 'none',
      label,
      why: ref.digest
        ? `image ${ref.repository} is pinned by digest only, which names no commit`
        : `image ${ref.repository} has no tag (it means latest), which names no commit`,
    };
  }
  const sha = SHA_TAG.exec(ref.tag);
  if (sha?.[1] && (HEX_WITH_LETTER.test(sha[1]) || /^(sha|git)-/i.test(ref.tag))) {
    return { kind: 'sha', sha: sha[1].toLowerCase(), source: 'tag', label };
  }
  if (VERSION.test(ref.tag)) return { kind: 'version', version: ref.tag, label };
  return {
    kind: 'none',
    label,
    why: MOVING_TAGS.has(ref.tag.toLowerCase())
      ? `image tag ${ref.tag} moves from build to build, so it names no commit`
      : `image tag ${ref.tag} is neither a commit sha nor a release version`,
  };
}

/** How a running revision compares with one GitHub deployment. */
export type RevisionMatch = 'same' | 'different' | 'incomparable';

/**
 * Whether the image runs what a GitHub deployment deployed: shas by prefix, versions by ref
 * (`v1.4.2`, `refs/tags/1.4.2` and `1.4.2` are the same). A version tag cannot be compared with a
 * deployment of a branch or a bare sha, so that answers `incomparable`.
 *
 * @example
 * compareRevision(runningRevision('acme/shop:1.4.2'), { ref: 'v1.4.2', sha: '0c1d...' }) // 'same'
 */
export function compareRevision(
  running: RunningRevision,
  deployment: Pick<GitHubDeployment, 'ref' | 'sha'>,
): RevisionMatch {
  if (running.kind === 'none') return 'incomparable';
  if (running.kind === 'sha') {
    return deployment.sha.toLowerCase().startsWith(running.sha) ? 'same' : 'different';
  }
  const ref = deployment.ref.replace(/^refs\/tags\//, '');
  if (!VERSION.test(ref)) return 'incomparable';
  return normalVersion(ref) === normalVersion(running.version) ? 'same' : 'different';
}

function normalVersion(value: string): string {
  return value.replace(/^v/i, '').toLowerCase();
}

/** The first 7 characters of a sha, as GitHub shows it. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}
