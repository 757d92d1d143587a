// The layer rule of ARCHITECTURE.md, enforced on every import in packages/ and examples/.
// A package may import only the internal packages listed for it here (edges point down), and only
// packages declared in its own package.json.
/** @type {Record<string, string[]>} allowed internal dependencies of each package */
const ALLOWED = {
  budget: [],
  batcher: [],
  scoring: [],
  kvcache: ['budget'],
  model: ['budget'],
  scheduler: ['kvcache', 'budget'],
  'gpu-webgpu': ['model'],
  'cpu-wasm': ['model'],
  engine: ['scheduler', 'kvcache', 'gpu-webgpu', 'cpu-wasm', 'model', 'budget'],
  'demo-model': [],
};
/**
 * @type {Record<string, string[]>} internal packages that only a package's tests may import
 * besides ALLOWED (its devDependencies): @x/demo-model ships a file and its path, and its tests
 * load the file with @x/model.
 */
const TEST_ONLY = {
  'demo-model': ['model'],
  'cpu-wasm': ['demo-model'],
  engine: ['demo-model'],
};
const PACKAGES = Object.keys(ALLOWED);
const APPS = ['server', 'cli', 'browser-demo'];
const TEST_FILE = '(\\.(test|bench)\\.ts|/test-helpers\\.ts)$';

/** An import of package `name`, resolved into the workspace or left as a bare name. */
const target = (names) => `^(packages/(${names.join('|')})/|@x/(${names.join('|')})(/|$))`;

/** `name`'s files matching `from` (`who`, in the message) import no internal package but `allowed`. */
const layerRule = (ruleName, name, who, allowed, from) => ({
  name: ruleName,
  severity: 'error',
  comment:
    `${who} may import only ${allowed.map((p) => `@x/${p}`).join(', ') || 'no internal package'}` +
    ' (ARCHITECTURE.md: packages depend only downward)',
  from,
  to: {
    path: target([...PACKAGES.filter((p) => p !== name && !allowed.includes(p)), ...APPS]),
  },
});

const layerRules = PACKAGES.flatMap((name) => {
  const path = `^packages/${name}/`;
  const tests = TEST_ONLY[name];
  const who = `@x/${name}`;
  if (!tests) return [layerRule(`layer:${name}`, name, who, ALLOWED[name], { path })];
  return [
    layerRule(`layer:${name}`, name, who, ALLOWED[name], { path, pathNot: TEST_FILE }),
    layerRule(`layer:${name}:tests`, name, `${who}'s tests`, [...ALLOWED[name], ...tests], {
      path: `${path}.*${TEST_FILE}`,
    }),
  ];
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-app-imports',
      severity: 'error',
      comment:
        'apps in examples/ own no core logic a package could need: packages never import them',
      from: { path: '^packages/' },
      to: { path: `^(examples/|@x/(${APPS.join('|')})(/|$))` },
    },
    {
      name: 'no-undeclared-dependency',
      severity: 'error',
      comment: 'every imported package must be declared in the importing package.json',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'the import resolves to no file: a typo, a missing install, or an unbuilt package',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependency-in-src',
      severity: 'error',
      comment: 'shipped code may not import a devDependency: it would be missing after install',
      from: {
        path: '^(packages|examples)/[^/]+/src/',
        pathNot: TEST_FILE,
      },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-reaching-into-another-package',
      severity: 'error',
      comment: 'import a sibling by its package name (@x/…), never by a relative path into it',
      from: { path: '^(packages|examples)/([^/]+)/' },
      to: { path: '^(packages|examples)/([^/]+)/', pathNot: '^$1/$2/', dependencyTypes: ['local'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'circular imports make load order fragile',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // Resolved imports land in node_modules or a sibling's dist/: keep them as edges (the rules
    // need them), but do not cruise their own imports.
    doNotFollow: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
