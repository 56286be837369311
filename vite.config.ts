import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const web = (path: string) => fileURLToPath(new URL(`./src/web/${path}`, import.meta.url));

/**
 * The browser front end: one HTML page per place in the office, each loading only its own scripts (the citizen's
 * page carries no PDF viewer). Built into dist/web, which the API serves; nothing is loaded from elsewhere.
 */
export default defineConfig({
  root: web(''),
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/web/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be an inline script; our CSP allows none, and every browser we serve has modulepreload.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        home: web('index.html'),
        desk: web('desk/index.html'),
        track: web('track/index.html'),
        station: web('station/index.html'),
        admin: web('admin/index.html'),
      },
    },
  },
});
