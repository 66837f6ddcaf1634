import { defineConfig } from 'vitest/config';

// The engine's API is proxied under /v1 (dev and preview), so the app and the API share an
// origin and the engine needs no CORS headers. GNOMON_ENGINE_URL points the proxy elsewhere.
const engine = process.env.GNOMON_ENGINE_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/v1': { target: engine, ws: true, changeOrigin: true } };

export default defineConfig({
  server: { proxy },
  preview: { proxy },
  build: { target: 'es2022', chunkSizeWarningLimit: 1024 },
  test: { include: ['test/*.test.ts'], environment: 'node' },
});
