// The app version written into every export (metadata.json, manifests). Kept in step with
// package.json's "version" (tests/unit/export-archive.test.ts checks it).
export const APP_VERSION = '0.1.0';
