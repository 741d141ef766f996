/**
 * Vite build of the dashboard's web app: `web/` in, `dist/web` out (base `/`, hashed files under
 * `/assets/`), served by the dashboard handler on the gateway's port. No React plugin: Oxc compiles the TSX
 * with the automatic JSX runtime. Run from the repository root: `npm run build:web`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
