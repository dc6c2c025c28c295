// Built by `make` (scripts/build-ui.sh) into ui/dist, which berthd-proxy serves.
// Hashed names under assets/ get `Cache-Control: immutable` from the proxy; index.html is
// `no-cache`. noVNC and xterm.js are imported lazily, so they are chunks of their own.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022', // noVNC uses top-level await
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` against a running berthd: BERTH_URL=https://127.0.0.1:8006 npm run dev
    proxy: {
      '/api2': { target: process.env.BERTH_URL ?? 'https://127.0.0.1:8006', secure: false, ws: true },
    },
  },
});
