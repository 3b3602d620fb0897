// Lint enforces the module boundaries of the design (README "Layout"): data flows one way, the UI
// never touches TF.js, storage or workers directly, and shared code depends on nothing.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/**
 * The design's import table (README "Layout"): folder -> the folders under src/ it may import.
 * Every folder not listed is forbidden, so a new folder or a new edge is a decision, not an accident.
 */
/** An import of folder f from a file in another folder of src/ (../f, ../f/x, ../../f/x). */
const folderRegex = (f) => `^(\\.\\./)+${f}(/|$)`;
const FOLDERS = ['app', 'ui', 'capture', 'dataset', 'store', 'state', 'pwa', 'shared', 'export', 'embed', 'train', 'worker'];
const mayImport = {
  app: ['ui', 'state', 'shared'],
  // ui reads data through state hooks; capture (the webcam stream) and pwa (install / update
  // status) are browser services with hooks of their own. Never TF.js, storage or workers.
  ui: ['state', 'capture', 'pwa', 'shared'],
  capture: ['shared'],
  dataset: ['shared'],
  store: ['dataset', 'shared'],
  state: ['capture', 'dataset', 'store', 'embed', 'train', 'worker', 'export', 'pwa', 'shared'],
  pwa: ['shared'],
  shared: [],
  // The project archive sniffs images (capture/guard); a model export names its extractor (embed/specs).
  export: ['train', 'dataset', 'store', 'capture', 'embed', 'shared'],
  embed: ['capture', 'dataset', 'shared'],
  train: ['dataset', 'shared'],
  // The worker's composition root: the only folder that joins embed and train (and runs the
  // complete-model export of export/ on the extractor it holds).
  worker: ['embed', 'train', 'capture', 'dataset', 'export', 'shared'],
};
/** Folders whose code may run TF.js (export: the head's Layers model for a model export). */
const tfAllowed = new Set(['embed', 'train', 'worker', 'export']);
/** From the app's side, the worker is its bridge and its protocol types (the worker's code runs only in the worker). */
const workerFromApp = { regex: '^(\\.\\./)+worker/(?!(client|protocol|debug-protocol)$)', message: 'The app reaches the worker through worker/client and its protocol types only.' };

/** main.tsx starts the app: app, ui styles, state (bench hooks, loaded on demand), pwa registration. */
const entryRule = {
  regex: '^(@tensorflow/|dexie$|\\./(capture|dataset|store|export|embed|train|worker|shared)(/|$))',
  message: 'main.tsx imports app, ui styles, state and pwa only.',
};

const textOnly = { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'Labels and user text render as text only.' };

/** The folders `folder` may not import, as selectors for dynamic import() of them. */
function dynamicBoundaries(folder) {
  const allowed = new Set(mayImport[folder]);
  const banned = FOLDERS.filter((f) => f !== folder && !allowed.has(f));
  if (banned.length === 0) return [];
  return [{ selector: `ImportExpression[source.value=/^(\\.\\.\\/)+(${banned.join('|')})(\\/|$)/]`, message: `${folder}/ may import ${mayImport[folder].join(', ') || 'nothing'} (README "Layout").` }];
}

function boundaries(folder) {
  const allowed = new Set(mayImport[folder]);
  const patterns = FOLDERS.filter((f) => f !== folder && !allowed.has(f) && !(f === 'worker' && folder !== 'worker' && allowed.has('worker'))).map((f) => ({
    regex: folderRegex(f),
    message: `${folder}/ may import ${mayImport[folder].join(', ') || 'nothing'} (README "Layout").`,
  }));
  if (folder !== 'worker' && allowed.has('worker')) patterns.push(workerFromApp);
  // A `?url` import of TF.js's browser bundle is a file to copy into an export, not TF.js code.
  if (!tfAllowed.has(folder)) patterns.push({ regex: '^@tensorflow/(?!tfjs/dist/tf\\.min\\.js\\?url$)', message: 'Only embed/, train/, worker/ (and the model export) run TF.js.' });
  if (folder !== 'store') {
    patterns.push({ group: ['dexie'], message: 'store/ owns the database.' });
    patterns.push({ regex: '^(\\.\\./)+store/db$', message: 'store/ owns the database: use the repositories (store/repo).' });
  }
  if (folder !== 'state' && folder !== 'store') patterns.push({ group: ['dexie-react-hooks'], message: 'ui reads data through state hooks.' });
  if (folder === 'store') patterns.push({ group: ['react', 'react-dom'], message: 'store never imports React.' });
  return patterns;
}

export default tseslint.config(
  { ignores: ['.device-carry', '.scratch', 'dist', '**/dist/**', 'dist-*', 'node_modules', '**/node_modules/**', '.cache', 'public/models', 'coverage', 'test-results', 'bench/gpu/**/*.mjs', 'scripts/inception-v3-2015-mixed8'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker, ...globals.node } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  ...FOLDERS.map((folder) => ({
    files: [`src/${folder}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': ['error', { patterns: boundaries(folder) }],
      // import() is not checked by no-restricted-imports: the same table for dynamic imports.
      'no-restricted-syntax': ['error', textOnly, ...dynamicBoundaries(folder)],
    },
  })),
  {
    // The entry: renders the app, registers the service worker, loads the bench hooks on demand.
    files: ['src/*.{ts,tsx}'],
    rules: { 'no-restricted-imports': ['error', { patterns: [entryRule] }] },
  },
  {
    files: ['src/*.{ts,tsx}'],
    rules: { 'no-restricted-syntax': ['error', textOnly] },
  },
);
