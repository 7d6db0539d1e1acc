/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The page runs inside Tauri under `script-src 'self'; style-src 'self'`: every script and style
// must be a file of the bundle, so nothing may be inlined into index.html.
export default defineConfig({
  plugins: [svelte()],
  // Component tests mount Svelte's client runtime, which Node would otherwise resolve to the
  // server build.
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
  base: "./",
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
