import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

/** The console's own directory: Vite's root whether it is started from here or from the repo root. */
const consoleDir = fileURLToPath(new URL(".", import.meta.url));

/** The control plane the dev server forwards `/api` and `/ws` to, so cookies stay same-origin. */
const apiTarget = process.env.NF_API_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  root: consoleDir,
  // Keep the dev server's dependency cache with the repo's, not in a second console/node_modules.
  cacheDir: fileURLToPath(new URL("../node_modules/.vite/console", import.meta.url)),
  plugins: [svelte({ configFile: fileURLToPath(new URL("./svelte.config.js", import.meta.url)) })],
  build: {
    // The control plane serves this directory at `/` with an SPA fallback.
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    proxy: {
      "/api": { target: apiTarget },
      "/ws": { target: apiTarget, ws: true },
    },
  },
});
