// Lint enforces the module boundaries of ../shared/DESIGN.md: data flows one way, the UI never
// touches TF.js, storage or workers directly, and shared code depends on nothing.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const tf = { group: ['@tensorflow/*'], message: 'Only embed/ and train/ run TF.js.' };
const dir = (name, why) => ({ group: [`**/${name}/*`, `**/${name}`], message: why });

/** Folder -> import patterns it must not use. */
const boundaries = {
  'src/shared': [tf, dir('app', 'shared imports nothing'), dir('ui', 'shared imports nothing'), dir('state', 'shared imports nothing'), dir('store', 'shared imports nothing'), dir('embed', 'shared imports nothing'), dir('train', 'shared imports nothing'), dir('dataset', 'shared imports nothing'), dir('capture', 'shared imports nothing'), dir('export', 'shared imports nothing')],
  'src/ui': [tf, dir('store', 'ui reads data through state hooks'), dir('embed', 'ui never touches workers'), dir('train', 'ui never touches workers'), { group: ['dexie', 'dexie-react-hooks'], message: 'ui reads data through state hooks' }],
  'src/capture': [tf, dir('state', 'capture is below state'), dir('ui', 'capture is below ui'), dir('store', 'capture is pure')],
  'src/dataset': [tf, dir('state', 'dataset is pure'), dir('ui', 'dataset is pure'), dir('store', 'dataset is pure'), dir('embed', 'dataset is pure')],
  'src/store': [tf, dir('ui', 'store never imports React'), dir('state', 'store is below state'), { group: ['react', 'react-dom'], message: 'store never imports React' }],
  'src/state': [dir('ui', 'state is below ui'), dir('app', 'state is below app')],
  'src/embed': [dir('ui', 'embed is below ui'), dir('state', 'embed is below state'), dir('store', 'embed is below store')],
  'src/train': [dir('ui', 'train is below ui'), dir('state', 'train is below state'), dir('store', 'train is below store')],
  'src/pwa': [tf, dir('ui', 'pwa is below ui'), dir('state', 'pwa is below state')],
};

export default tseslint.config(
  { ignores: ['dist', '**/dist/**', 'dist-*', 'node_modules', '**/node_modules/**', '.cache', 'public/models', 'coverage', 'test-results', 'bench/gpu/**/*.mjs', 'scripts/inception-v3-2015-mixed8'] },
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
  ...Object.entries(boundaries).map(([folder, patterns]) => ({
    files: [`${folder}/**/*.{ts,tsx}`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  })),
  {
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'Labels and user text render as text only.' },
      ],
    },
  },
);
