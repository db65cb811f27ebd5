/**
 * @module .dependency-cruiser — the layers of docs/DESIGN.md §2 as rules: `npm test` checks them (test/layers.test.ts),
 * `npm run check-layers` reports them as dependency-cruiser does, `npm run layers` prints the folder graph.
 *
 * Each folder of src/ may import itself, the folders listed for it below (lowest layer first), and packages; files
 * directly in src/ (the public entry points) may import any folder. Anything else is a violation, as is an import
 * cycle between files (type-only imports count), an import of test/, bench/ or scripts/ from src/, and a folder of
 * src/ missing from the list. Change a layer here and in docs/DESIGN.md §2 together.
 */

/** The folders of src/ that each folder of src/ may import (besides itself). */
const allowedImports = {
  common: [],
  llm: ['common'],
  records: ['common'],
  store: ['llm', 'records', 'common'],
  subject: ['records', 'common'],
  sae: ['subject', 'records', 'common'],
  explain: ['llm', 'records', 'store', 'common'],
  simulate: ['explain', 'llm', 'records', 'store', 'common'],
  score: ['subject', 'sae', 'llm', 'records', 'store', 'common'],
  report: ['score', 'records', 'store', 'common'],
  pipeline: ['explain', 'simulate', 'score', 'subject', 'sae', 'llm', 'records', 'store', 'common'],
  serve: ['report', 'score', 'subject', 'sae', 'records', 'store', 'common'],
  cli: ['pipeline', 'serve', 'report', 'explain', 'simulate', 'score', 'subject', 'sae', 'llm', 'records', 'store', 'common'],
};

const layerRules = Object.entries(allowedImports).map(([folder, targets]) => ({
  from: { path: `^src/${folder}/` },
  to: { path: `^src/(${[folder, ...targets].join('|')})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  allowed: [
    // The public face (src/index.ts) re-exports every layer.
    { from: { path: '^src/[^/]+\\.ts$' }, to: { path: '^src/' } },
    ...layerRules,
    // Packages and Node's own modules.
    { from: {}, to: { dependencyTypesNot: ['local', 'aliased', 'unknown', 'undetermined'] } },
  ],
  allowedSeverity: 'error',
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files must not import each other in a cycle (directly or through others).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-src-to-tests-or-tools',
      severity: 'error',
      comment: 'The library and CLI never import tests, benchmarks or scripts.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ has a place in the layers: add a new one to allowedImports.',
      from: { path: `^src/(?!(${Object.keys(allowedImports).join('|')})/)[^/]+/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    // A cruise parses every file (~10 s on 2 cores); the cache re-reads only files whose content changed.
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
