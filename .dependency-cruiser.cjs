// The one direction (docs/architecture.md), checked by `npm run lint`: adapters -> core -> commands ->
// features -> executors | upstreams | store, with core knowing no feature and nothing reaching backwards.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules import each other in a cycle; move the shared piece down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-knows-no-feature',
      severity: 'error',
      comment: 'src/core imports only src/core (and packages); features extend it by declaration merging.',
      from: { path: '^src/core/' },
      to: { path: '^(src/(?!core/)|commands/|adapters/)' },
    },
    {
      name: 'src-does-not-reach-up',
      severity: 'error',
      comment: 'Only the composition root (src/app.ts, src/main.ts, src/cli/) lists adapters and commands.',
      from: { path: '^src/', pathNot: '^src/((app|main)\\.ts$|cli/)' },
      to: { path: '^(adapters|commands)/' },
    },
    {
      name: 'commands-do-not-import-adapters',
      severity: 'error',
      comment: 'A command returns a Reply; the surface renders it.',
      from: { path: '^commands/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      comment: 'A surface is a plugin; what two surfaces share lives in src/core.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'only-executors-change-the-world',
      severity: 'error',
      comment:
        'The built-in executors are reached through the audited executor host (src/executors/host.ts), never directly.',
      from: { path: '^(src/(?!executors/|app\\.ts|main\\.ts|cli/)|commands/|adapters/)' },
      to: { path: '^src/executors/(kubernetes|github|http)/' },
    },
    {
      name: 'upstream-clients-stay-below',
      severity: 'error',
      comment: 'Kubernetes and GitHub client libraries are used only by src/upstreams and src/executors.',
      from: { path: '^(src/(?!upstreams/|executors/)|commands/|adapters/)' },
      to: { path: 'node_modules/(@kubernetes/client-node|@octokit/rest)/' },
    },
    {
      name: 'upstreams-are-readers',
      severity: 'error',
      comment: 'src/upstreams is below the executors and the features that read through it.',
      from: { path: '^src/upstreams/' },
      to: { path: '^src/(executors|deploys|incidents|changes|digests|runbooks|slo)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
