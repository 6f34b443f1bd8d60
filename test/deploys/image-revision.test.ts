// How an image maps to a commit, and how drift is judged from it: the rules `deploys` documents.
import {
  combineDrift,
  compareRevision,
  type DriftVerdict,
  imageVersion,
  judgeDrift,
  parseImage,
  runningRevision,
} from '../../src/deploys/index.js';
import type { GitHubDeployment } from '../../src/upstreams/github/index.js';

function deployment(overrides: Partial<GitHubDeployment>): GitHubDeployment {
  return {
    id: 1,
    environment: 'production',
    ref: 'main',
    sha: '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5',
    task: 'deploy',
    description: null,
    creator: 'ana',
    createdAt: '2025-01-01T10:00:00Z',
    state: 'success',
    stateAt: '2025-01-01T10:05:00Z',
    stateDescription: null,
    link: 'https://github.com/acme/shop/deployments/production',
    environmentUrl: null,
    ...overrides,
  };
}

describe('image references', () => {
  it.each([
    [
      'registry.example.com:5000/shop/checkout:1.4.2',
      'registry.example.com:5000/shop/checkout',
      '1.4.2',
      null,
    ],
    ['registry.example.com:5000/shop/checkout', 'registry.example.com:5000/shop/checkout', null, null],
    ['nginx', 'nginx', null, null],
    ['ghcr.io/acme/api:sha-0c1d2e3@sha256:abcdef', 'ghcr.io/acme/api', 'sha-0c1d2e3', 'sha256:abcdef'],
    ['ghcr.io/acme/api@sha256:4f4f4f4f4f4f4f4f', 'ghcr.io/acme/api', null, 'sha256:4f4f4f4f4f4f4f4f'],
  ])('splits %s', (image, repository, tag, digest) => {
    expect(parseImage(image)).toEqual({ image, repository, tag, digest });
  });

  it('names a version by its tag, else a short digest, else latest', () => {
    expect(imageVersion('acme/api:1.4.2')).toBe('1.4.2');
    expect(imageVersion('acme/api@sha256:4f4f4f4f4f4f4f4f4f4f')).toBe('@4f4f4f4f4f4f');
    expect(imageVersion('acme/api')).toBe('latest');
  });
});

describe('which commit an image runs', () => {
  it.each([
    ['acme/api:0c1d2e3', { kind: 'sha', sha: '0c1d2e3', source: 'tag' }],
    [
      'acme/api:0C1D2E3F405162738495A6B7C8D9E0F1A2B3C4D5',
      { kind: 'sha', sha: '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5' },
    ],
    ['acme/api:sha-7638417', { kind: 'sha', sha: '7638417' }],
    ['acme/api:git-1234567', { kind: 'sha', sha: '1234567' }],
    ['acme/api:1.4.2', { kind: 'version', version: '1.4.2' }],
    ['acme/api:v2.0.0-rc.1', { kind: 'version', version: 'v2.0.0-rc.1' }],
    ['acme/api:2026.11.3', { kind: 'version', version: '2026.11.3' }],
  ])('%s', (image, expected) => {
    expect(runningRevision(image)).toMatchObject(expected);
  });

  it.each([
    ['acme/api:latest', 'image tag latest moves from build to build, so it names no commit'],
    ['acme/api:main', 'image tag main moves from build to build, so it names no commit'],
    // Eight digits is a build number or a date more often than a commit.
    ['acme/api:20250101', 'image tag 20250101 is neither a commit sha nor a release version'],
    ['acme/api:feature-x', 'image tag feature-x is neither a commit sha nor a release version'],
    ['acme/api', 'image acme/api has no tag (it means latest), which names no commit'],
    ['acme/api@sha256:4f4f', 'image acme/api is pinned by digest only, which names no commit'],
  ])('%s names no commit', (image, why) => {
    expect(runningRevision(image)).toMatchObject({ kind: 'none', why });
  });

  it('prefers the org.opencontainers.image.revision annotation over the tag', () => {
    expect(runningRevision('acme/api:latest', '1234ABCD4051')).toEqual({
      kind: 'sha',
      sha: '1234abcd4051',
      source: 'annotation',
      label: 'latest (commit 1234abc)',
    });
    // An annotation that is not a sha is ignored.
    expect(runningRevision('acme/api:1.4.2', 'release one')).toMatchObject({ kind: 'version' });
  });

  it('compares shas by prefix and versions by ref, and says when they cannot be compared', () => {
    const byMain = deployment({ ref: 'main' });
    expect(compareRevision(runningRevision('acme/api:0c1d2e3'), byMain)).toBe('same');
    expect(compareRevision(runningRevision('acme/api:9f8e7d6'), byMain)).toBe('different');
    expect(compareRevision(runningRevision('acme/api:1.4.2'), deployment({ ref: 'v1.4.2' }))).toBe('same');
    expect(compareRevision(runningRevision('acme/api:v1.4.2'), deployment({ ref: 'refs/tags/1.4.2' }))).toBe(
      'same',
    );
    expect(compareRevision(runningRevision('acme/api:1.4.2'), deployment({ ref: 'v1.4.3' }))).toBe(
      'different',
    );
    expect(compareRevision(runningRevision('acme/api:1.4.2'), byMain)).toBe('incomparable');
    expect(compareRevision(runningRevision('acme/api:latest'), byMain)).toBe('incomparable');
  });
});

describe('drift', () => {
  const success = deployment({ ref: 'v1.4.2', sha: '42a1b2c3d4e5f60718293a4b5c6d7e8f90123456' });

  it('is in sync when the image is the last successful deployment', () => {
    expect(
      judgeDrift({
        running: runningRevision('acme/api:1.4.2'),
        environment: 'production',
        latest: success,
        lastSuccess: success,
        searched: 1,
      }),
    ).toEqual({
      status: 'in-sync',
      reason: 'runs 1.4.2, the last successful production deployment v1.4.2 (42a1b2c)',
    });
  });

  it('is rolling out, not drift, while the deployment of the running image is in flight', () => {
    const inFlight = deployment({
      id: 2,
      ref: 'v1.5.0',
      sha: '50a1b2c3d4e5f60718293a4b5c6d7e8f90123456',
      state: 'queued',
    });
    expect(
      judgeDrift({
        running: runningRevision('acme/api:1.5.0'),
        environment: 'production',
        latest: inFlight,
        lastSuccess: success,
        searched: 2,
      }),
    ).toEqual({
      status: 'rolling-out',
      reason: 'runs 1.5.0, which production deployment v1.5.0 (50a1b2c) is still rolling out (queued)',
    });
  });

  it('is drift when the image is something else, and says so when it came from a failed deployment', () => {
    const failed = deployment({
      id: 2,
      ref: 'v1.5.0',
      sha: '50a1b2c3d4e5f60718293a4b5c6d7e8f90123456',
      state: 'failure',
    });
    expect(
      judgeDrift({
        running: runningRevision('acme/api:1.5.0'),
        environment: 'production',
        latest: failed,
        lastSuccess: success,
        searched: 2,
      }),
    ).toEqual({
      status: 'drift',
      reason:
        'runs 1.5.0, from production deployment v1.5.0 (50a1b2c) that GitHub marks failure, but the last successful production deployment is v1.4.2 (42a1b2c) by ana',
    });
  });

  it('is unknown without a successful deployment to compare with', () => {
    const failed = deployment({ state: 'failure' });
    expect(
      judgeDrift({
        running: runningRevision('acme/api:0c1d2e3'),
        environment: 'staging',
        latest: failed,
        searched: 10,
      }),
    ).toEqual({
      status: 'unknown',
      reason: 'no successful staging deployment among the last 10 on GitHub to compare 0c1d2e3 with',
    });
    expect(
      judgeDrift({ running: runningRevision('acme/api:0c1d2e3'), environment: 'staging', searched: 0 }),
    ).toEqual({
      status: 'unknown',
      reason: 'GitHub lists no staging deployments to compare 0c1d2e3 with',
    });
  });

  it('is unknown when a version tag meets a deployment of a branch', () => {
    const verdict = judgeDrift({
      running: runningRevision('acme/api:1.4.2'),
      environment: 'production',
      latest: deployment({}),
      lastSuccess: deployment({}),
      searched: 1,
    });
    expect(verdict.status).toBe('unknown');
    expect(verdict.reason).toMatch(
      /^image tag 1\.4\.2 is a release version, but the last successful production deployment names ref main, so Millwright cannot tell which commit runs; tag images/,
    );
  });

  it('lets the worst deployment decide for a service', () => {
    const inSync: DriftVerdict = { status: 'in-sync', reason: 'runs 1.4.2' };
    const drifted: DriftVerdict = { status: 'drift', reason: 'runs 9f8e7d6' };
    const unknown: DriftVerdict = { status: 'unknown', reason: 'runs latest' };
    expect(
      combineDrift([
        { name: 'api', verdict: inSync },
        { name: 'worker', verdict: drifted },
        { name: 'cron', verdict: unknown },
      ]),
    ).toEqual({ status: 'drift', reason: 'worker runs 9f8e7d6' });
    expect(combineDrift([{ name: 'api', verdict: inSync }])).toBe(inSync);
    expect(combineDrift([]).status).toBe('unknown');
  });
});
