// Build constants from vite.config.ts `define`.
declare const __APP_VERSION__: string;
/** VITE_APP_BUILD at build time (a commit, a CI run), or '' when not set. */
declare const __APP_BUILD__: string;
