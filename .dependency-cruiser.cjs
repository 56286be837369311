/**
 * Import boundaries, checked by `npm run lint`. Layers, bottom up (each may import those below it):
 *
 *   domain ← pipeline, infra ← storage, repositories, ocr ← services ← api, workers, dispatch ← roles ← main
 *
 * domain holds types and rules; pipeline pure image stages; infra the plumbing (logger, metrics, Redis, S3 server);
 * services the office's rules; api, workers and dispatch are the doors (HTTP, queues, the dispatcher loop) and
 * reach data only through services; roles wire a process from config; main only picks roles. src/web (the pages)
 * stands apart: it imports nothing of the server and the server nothing of it.
 */
const layer = (name, may) => ({
  name: `${name}-imports-only-below`,
  comment: `${name} may import only: ${may.join(', ')}`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...may.map((allowed) => `^src/${allowed}`)] },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle ties modules (and folders) together so that neither can change alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('domain', []),
    layer('pipeline', ['domain/']),
    layer('infra', ['domain/', 'pipeline/']),
    layer('storage', ['domain/', 'infra/']),
    layer('repositories', ['domain/', 'infra/']),
    layer('ocr', ['domain/', 'infra/', 'pipeline/']),
    layer('services', ['domain/', 'infra/', 'pipeline/', 'storage/', 'repositories/']),
    layer('api', ['domain/', 'infra/', 'pipeline/', 'services/', 'config\\.ts$']),
    layer('workers', ['domain/', 'infra/', 'services/']),
    layer('dispatch', ['domain/', 'infra/', 'services/']),
    layer('cli', ['domain/', 'pipeline/']),
    // The station agent is a separate program on the scanner's PC: it talks to the service over HTTP only.
    layer('station-agent', ['domain/', 'pipeline/', 'infra/']),
    layer('web', []),
    {
      name: 'the-server-never-imports-the-pages',
      comment: 'src/web is the browser front end, built by Vite and served as files; the server reads none of it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/web/' },
      to: { path: '^src/web/' },
    },
    {
      name: 'roles-only-from-main',
      comment: 'Only main starts roles; nothing below them knows how a process is wired.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/roles/', '^src/main\\.ts$'] },
      to: { path: ['^src/roles/', '^src/main\\.ts$'] },
    },
    {
      name: 'service-stands-alone',
      comment: 'The service never imports tests, fixtures, benchmarks or scripts.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|fixtures|bench|scripts)/' },
    },
    {
      name: 'tests-are-not-a-library',
      comment: 'Fixtures, benchmarks and scripts share code through fixtures/, never through test/.',
      severity: 'error',
      from: { path: '^(fixtures|bench|scripts)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
